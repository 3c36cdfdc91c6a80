#!/bin/sh
# Rewrites the verdict corpus's [[bin]] entries at the end of exercises/reference/Cargo.toml:
# one per file of exercises/verdicts/, named as the file. Run from exercises/.
set -e
manifest=reference/Cargo.toml
marker='# The verdict corpus: one bin per file of ../verdicts, written by verdicts/bins.sh'
sed -i "\|^$marker|,\$d" "$manifest"
echo "$marker" >> "$manifest"
for file in verdicts/ex*.rs; do
    name=$(basename "$file" .rs)
    printf '\n[[bin]]\nname = "%s"\npath = "../%s"\ntest = false\ndoc = false\n' \
        "$name" "$file" >> "$manifest"
done
