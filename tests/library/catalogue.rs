use shm_workbook::catalogue::*;

#[test]
fn numbers_and_names_follow_each_other() {
    for pair in LESSONS.windows(2) {
        assert!(pair[0].number < pair[1].number, "lessons are listed in order");
    }
    for lesson in LESSONS {
        assert_eq!(lesson.bin, format!("lesson{:02}", lesson.number));
        assert!(lesson.source.starts_with(&format!("lessons/{}_", lesson.bin)));
        assert_eq!(lesson.quiz, format!("quizzes/{}.toml", lesson.bin));
        assert_eq!(lesson.chapter, format!("book/src/{}.md", lesson.bin));
    }
    assert_eq!(find("lesson02").map(|l| l.number), Some(2));
    assert!(find("lesson99").is_none());
}
