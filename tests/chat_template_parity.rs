//! The GGUF's chat template rendered by minijinja against `transformers`' `apply_chat_template`.

use lmfast_core::chat_template::{ChatMessage, ChatTemplate};
use lmfast_core::format::gguf::GgufFile;
use lmfast_core::tokenizer::Tokenizer;
use lmfast_tests::{read_json_fixture, real_model};

#[test]
fn conversations_render_and_encode_like_transformers() {
    let Some(path) = real_model() else { return };
    let file = GgufFile::open(&path).expect("open the default model");
    let template = ChatTemplate::from_gguf(&file)
        .expect("template compiles")
        .expect("the default model has a chat template");
    let tokenizer = Tokenizer::from_gguf(&file).expect("tokenizer");
    let fixture = read_json_fixture("chat_template_cases.json");
    assert_eq!(template.source(), fixture["template"].as_str().unwrap());

    let cases = fixture["cases"].as_array().expect("cases");
    assert!(cases.len() >= 12);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let messages: Vec<ChatMessage> =
            serde_json::from_value(case["messages"].clone()).expect("messages");
        let add_generation_prompt = case["add_generation_prompt"].as_bool().unwrap();
        let text = template
            .render(&messages, add_generation_prompt)
            .expect("render");
        assert_eq!(
            text,
            case["text"].as_str().unwrap(),
            "{name} (gen prompt {add_generation_prompt})"
        );
        let ids: Vec<u32> = case["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u32)
            .collect();
        assert_eq!(tokenizer.encode(&text, false).unwrap(), ids, "{name}");
    }
}
