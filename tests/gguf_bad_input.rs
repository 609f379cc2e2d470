//! Broken GGUF files give errors that name the file and the problem, never a panic.

use lmfast_core::checkpoint::{config_from_gguf, load_gguf};
use lmfast_core::format::gguf::{GgmlType, GgufFile, GgufWriter, MetadataValue};

const NAME: &str = "broken.gguf";

/// A small valid file: metadata of a few kinds and two tensors.
fn valid_file() -> Vec<u8> {
    let mut w = GgufWriter::new();
    w.metadata(
        "general.architecture",
        MetadataValue::String("llama".into()),
    )
    .metadata("general.alignment", MetadataValue::U32(32))
    .metadata(
        "tokenizer.ggml.tokens",
        MetadataValue::Array(vec![MetadataValue::String("a".into()); 4]),
    );
    w.tensor_f32("first", &[2, 8], &[0.5; 16]).unwrap();
    w.tensor_raw("second", &[1, 32], GgmlType::Q8_0, vec![0; 34])
        .unwrap();
    w.to_bytes()
}

fn open_err(bytes: Vec<u8>) -> String {
    match GgufFile::from_bytes(NAME, bytes) {
        Ok(_) => panic!("a broken file was accepted"),
        Err(err) => {
            let text = err.to_string();
            assert!(
                text.contains(NAME),
                "the error should name the file: {text}"
            );
            text
        }
    }
}

/// Offset of the first occurrence of `needle` in `haystack`.
fn find(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("needle present")
}

#[test]
fn the_valid_file_reads_back() {
    let file = GgufFile::from_bytes(NAME, valid_file()).unwrap();
    assert_eq!(file.tensors().len(), 2);
    assert_eq!(file.dequantize("first").unwrap().data, vec![0.5; 16]);
    assert_eq!(
        file.get_str_array("tokenizer.ggml.tokens").unwrap().len(),
        4
    );
}

#[test]
fn truncation_anywhere_is_reported() {
    let bytes = valid_file();
    let tensor_index = find(&bytes, b"first");
    let cuts = [
        0,
        3,
        6,
        20,
        30,
        60,
        tensor_index + 2,
        tensor_index + 20,
        bytes.len() - 1,
    ];
    for cut in cuts {
        let text = open_err(bytes[..cut].to_vec());
        assert!(
            text.contains("truncated") || text.contains("past the end"),
            "cut at {cut}: {text}"
        );
    }
}

#[test]
fn wrong_magic_is_reported() {
    let mut bytes = valid_file();
    bytes[..4].copy_from_slice(b"GGML");
    assert!(open_err(bytes).contains("not a GGUF file"));
}

#[test]
fn unsupported_version_is_reported() {
    let mut bytes = valid_file();
    bytes[4..8].copy_from_slice(&7u32.to_le_bytes());
    assert!(open_err(bytes).contains("version 7"));
}

#[test]
fn unknown_tensor_type_is_reported_with_the_tensor() {
    let mut bytes = valid_file();
    // After "second": dims count (4), two dims (16), then the type.
    let at = find(&bytes, b"second") + "second".len() + 4 + 16;
    bytes[at..at + 4].copy_from_slice(&99u32.to_le_bytes());
    let text = open_err(bytes);
    assert!(
        text.contains("second") && text.contains("unsupported tensor type 99"),
        "{text}"
    );
}

#[test]
fn tensor_data_out_of_bounds_is_reported() {
    let mut bytes = valid_file();
    let at = find(&bytes, b"second") + "second".len() + 4 + 16 + 4;
    bytes[at..at + 8].copy_from_slice(&(1u64 << 20).to_le_bytes());
    let text = open_err(bytes);
    assert!(
        text.contains("second") && text.contains("past the end"),
        "{text}"
    );
}

#[test]
fn absurd_lengths_do_not_allocate_or_panic() {
    let bytes = valid_file();
    // The token array's length field follows its item type (8 = string).
    let mut huge_array = bytes.clone();
    let at = find(&bytes, b"tokenizer.ggml.tokens") + "tokenizer.ggml.tokens".len() + 4 + 4;
    huge_array[at..at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(open_err(huge_array).contains("tokenizer.ggml.tokens"));

    let mut huge_string = bytes.clone();
    let at = find(&bytes, b"general.architecture") + "general.architecture".len() + 4;
    huge_string[at..at + 8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    open_err(huge_string);

    let mut overflow = bytes;
    let at = find(&overflow, b"first") + "first".len() + 4;
    overflow[at..at + 8].copy_from_slice(&u64::MAX.to_le_bytes());
    overflow[at + 8..at + 16].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(open_err(overflow).contains("overflow"));
}

#[test]
fn missing_metadata_key_names_the_key() {
    let file = GgufFile::from_bytes(NAME, valid_file()).unwrap();
    let err = file.get_u64("llama.block_count").unwrap_err().to_string();
    assert!(
        err.contains(NAME) && err.contains("llama.block_count") && err.contains("missing"),
        "{err}"
    );
    let err = file
        .get_u32("general.architecture")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("general.architecture") && err.contains("string"),
        "{err}"
    );
    let err = config_from_gguf(&file).unwrap_err().to_string();
    assert!(err.contains("llama.embedding_length"), "{err}");
}

#[test]
fn a_missing_file_names_its_path() {
    let path = std::path::Path::new("/nonexistent/model.gguf");
    let err = load_gguf(path).expect_err("missing file").to_string();
    assert!(err.contains("/nonexistent/model.gguf"), "{err}");
}

#[test]
fn writer_replaces_files_atomically() {
    let dir = std::env::temp_dir().join(format!("lmfast-writer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tiny.gguf");
    let mut w = GgufWriter::new();
    w.tensor_f32("t", &[2], &[1.0, 2.0]).unwrap();
    w.write_to(&path).unwrap();
    let file = GgufFile::open(&path).unwrap();
    assert_eq!(file.dequantize("t").unwrap().data, vec![1.0, 2.0]);
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .collect();
    assert_eq!(leftovers.len(), 1, "no temporary file may be left behind");
    std::fs::remove_dir_all(&dir).unwrap();
}
