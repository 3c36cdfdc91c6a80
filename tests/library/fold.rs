use shm_workbook::fold::*;

fn fold_text(text: &str, available: usize) -> Vec<String> {
    layout(text, &spaces(text, 0), available)
        .into_iter()
        .map(|(range, lead)| format!("{lead}{}", &text[range]))
        .collect()
}

#[test]
fn text_folds_at_single_spaces_within_the_width() {
    let text = "the ring copies twice too, but in user space, with no system call at all";
    let lines = fold_text(text, 30);
    assert_eq!(
        lines,
        ["the ring copies twice too, but", "  in user space, with no", "  system call at all"]
    );
    assert_eq!(fold_text("short  and spaced", 30), ["short  and spaced"]);
    assert_eq!(fold_text("µs × µs", 5), ["µs ×", "  µs"], "characters, not bytes");
    let command = "Run: `cargo run --release --bin lesson13`, then compare";
    assert_eq!(
        fold_text(command, 20),
        ["Run:", "  `cargo run --release --bin lesson13`,", "  then compare"],
        "a command stays whole"
    );
    assert_eq!(fold_text("a b (c d", 4), ["a", "  b (c", "  d"], "never before a '('");
    assert_eq!(fold_text("  │ what it means: x", 12), ["  │ what it", "  │   means:", "  │   x"]);
}

#[test]
fn a_call_folds_between_arguments_and_its_note_moves_whole() {
    let text = concat!(
        "mq_open(\"/a-long-name\", O_RDWR|O_CREAT, 0600, {mq_maxmsg=1}) = 3",
        "   (why it matters, here)"
    );
    let paren = "mq_open(".len();
    let mut folds: Vec<Fold> = text[..text.find(") = ").unwrap()]
        .match_indices(", ")
        .map(|(at, _)| Fold { at: at + 1, len: 1, kind: Break::Argument { paren } })
        .collect();
    let note = text.find("   (").unwrap();
    folds.push(Fold { at: note, len: 3, kind: Break::Note });
    let lines: Vec<String> = layout(text, &folds, 48)
        .into_iter()
        .map(|(range, lead)| format!("{lead}{}", &text[range]))
        .collect();
    assert_eq!(
        lines,
        [
            "mq_open(\"/a-long-name\", O_RDWR|O_CREAT, 0600,",
            "        {mq_maxmsg=1}) = 3",
            "  (why it matters, here)"
        ]
    );
}

#[test]
fn plain_text_wraps_under_a_lead() {
    let lines = wrap("what to do: create it first, then run", 16, 16, "    ");
    assert_eq!(lines, ["what to do:", "    create it first,", "    then run"]);
    assert_eq!(wrap("short", 16, 14, "    "), ["short"]);
    assert_eq!(wrap("failed: E (no such)", 10, 16, "    "), ["failed: E", "    (no such)"]);
    let lines = wrap("f() failed: E (no such file)", 24, 30, "    ");
    assert_eq!(lines, ["f() failed: E", "    (no such file)"], "a parenthesis moves whole");
    let lines = wrap("run: `a b c d`", 6, 6, "      ");
    assert_eq!(lines, ["run:", "    `a b c d`"], "a long word");
}

#[test]
fn unfold_joins_what_fold_split() {
    let story = "[parent 42] a b\n            c\n              (note d\n              e)\n\
                 [child  43]   what it means: x\n    table\n";
    assert_eq!(
        unfold(story),
        "[parent 42] a b c   (note d e)\n[child  43]   what it means: x\n    table\n"
    );
    let error = "Error: f(x) failed: E (why\n    not)\n  what it means: a\n                 b\n";
    assert_eq!(unfold(error), "Error: f(x) failed: E (why not)\n  what it means: a b\n");
}

#[test]
fn the_width_is_within_its_bounds() {
    assert!((MIN_COLUMNS..=MAX_COLUMNS).contains(&columns()));
}
