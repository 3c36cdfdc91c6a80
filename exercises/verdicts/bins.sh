#!/bin/sh
# Rewrites the verdict corpus's [[bin]] entries at the end of exercises/verdicts/Cargo.toml:
# one per file of exercises/verdicts/, named as the file. Run from exercises/.
set -e
manifest=verdicts/Cargo.toml
marker='# The verdict corpus: one bin per file of this folder, written by bins.sh'
sed -i "\|^$marker|,\$d" "$manifest"
echo "$marker" >> "$manifest"
for file in verdicts/ex*.rs; do
    name=$(basename "$file" .rs)
    printf '\n[[bin]]\nname = "%s"\npath = "%s"\ntest = false\ndoc = false\n' \
        "$name" "$(basename "$file")" >> "$manifest"
done
