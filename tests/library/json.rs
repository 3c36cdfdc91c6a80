use shm_workbook::json::*;

#[test]
fn one_line_form() {
    let value = Json::object([
        ("a", Json::from("x\"y")),
        ("b", Json::Array(vec![Json::from(1u64), Json::Null])),
    ]);
    assert_eq!(value.render_line(), r#"{"a":"x\"y","b":[1,null]}"#);
}

#[test]
fn indented_form() {
    let value = Json::object([
        ("a", Json::from("x\"y")),
        ("b", Json::Array(vec![Json::from(1u64), Json::Null])),
    ]);
    assert!(value.render().contains("\n  \"b\": [\n"), "{}", value.render());
}
