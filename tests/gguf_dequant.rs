//! GGUF reading and dequantization against the Python `gguf` package's own results.

use lmfast_core::format::gguf::{GgmlType, GgufFile, MetadataValue};
use lmfast_tests::{fixture, read_json_fixture, real_model};
use serde_json::Value;

const TYPES: [&str; 11] = [
    "f32", "f16", "bf16", "q4_0", "q4_1", "q5_0", "q5_1", "q8_0", "q4_k", "q5_k", "q6_k",
];

#[test]
fn every_type_dequantizes_exactly_like_gguf_py() {
    let file = GgufFile::open(&fixture("dequant.gguf")).expect("open dequant.gguf");
    for name in TYPES {
        let info = file
            .tensor(name)
            .unwrap_or_else(|| panic!("fixture lacks tensor {name}"));
        assert_eq!(format!("{:?}", info.ggml_type).to_lowercase(), name);
        let got = file.dequantize(name).expect("dequantize");
        let want = file
            .dequantize(&format!("{name}.expected"))
            .expect("expected");
        assert_eq!(got.shape, vec![2, 512], "{name}");
        assert_eq!(got.shape, want.shape, "{name}");
        let mismatches: Vec<_> = got
            .data
            .iter()
            .zip(&want.data)
            .enumerate()
            .filter(|(_, (g, w))| g.to_bits() != w.to_bits() && !(g.is_nan() && w.is_nan()))
            .take(5)
            .collect();
        assert!(
            mismatches.is_empty(),
            "{name}: first mismatches (index, (ours, gguf-py)): {mismatches:?}"
        );
    }
}

fn expect_value(got: &MetadataValue, want: &Value, ty: &str, key: &str) {
    match (ty, got) {
        ("UINT8", MetadataValue::U8(v)) => assert_eq!(Some(*v as u64), want.as_u64(), "{key}"),
        ("INT8", MetadataValue::I8(v)) => assert_eq!(Some(*v as i64), want.as_i64(), "{key}"),
        ("UINT16", MetadataValue::U16(v)) => assert_eq!(Some(*v as u64), want.as_u64(), "{key}"),
        ("INT16", MetadataValue::I16(v)) => assert_eq!(Some(*v as i64), want.as_i64(), "{key}"),
        ("UINT32", MetadataValue::U32(v)) => assert_eq!(Some(*v as u64), want.as_u64(), "{key}"),
        ("INT32", MetadataValue::I32(v)) => assert_eq!(Some(*v as i64), want.as_i64(), "{key}"),
        ("UINT64", MetadataValue::U64(v)) => assert_eq!(Some(*v), want.as_u64(), "{key}"),
        ("INT64", MetadataValue::I64(v)) => assert_eq!(Some(*v), want.as_i64(), "{key}"),
        ("FLOAT32", MetadataValue::F32(v)) => assert_eq!(Some(*v as f64), want.as_f64(), "{key}"),
        ("FLOAT64", MetadataValue::F64(v)) => assert_eq!(Some(*v), want.as_f64(), "{key}"),
        ("BOOL", MetadataValue::Bool(v)) => assert_eq!(Some(*v), want.as_bool(), "{key}"),
        ("STRING", MetadataValue::String(v)) => {
            assert_eq!(Some(v.as_str()), want.as_str(), "{key}")
        }
        _ => panic!("{key}: expected a {ty}, read {got:?}"),
    }
}

#[test]
fn version_2_file_reads_every_metadata_type() {
    let expected = read_json_fixture("dequant_v2.json");
    let file = GgufFile::open(&fixture("dequant_v2.gguf")).expect("open dequant_v2.gguf");
    assert_eq!(file.version(), 2);
    let kv = expected["kv"].as_array().expect("kv");
    assert_eq!(file.metadata().len(), kv.len());
    for entry in kv {
        let key = entry["key"].as_str().expect("key");
        let got = file.get(key).unwrap_or_else(|| panic!("missing {key}"));
        let ty = entry["type"].as_str().expect("type");
        if ty == "ARRAY" {
            let item_ty = entry["array_type"].as_str().expect("array_type");
            let items = got
                .as_array()
                .unwrap_or_else(|| panic!("{key} is not an array"));
            let want = entry["value"].as_array().expect("array value");
            assert_eq!(items.len(), want.len(), "{key}");
            for (item, want) in items.iter().zip(want) {
                expect_value(item, want, item_ty, key);
            }
        } else {
            expect_value(got, &entry["value"], ty, key);
        }
    }
    for tensor in expected["tensors"].as_array().expect("tensors") {
        let name = tensor["name"].as_str().expect("name");
        let info = file.tensor(name).expect("tensor listed");
        assert_eq!(info.ggml_type, GgmlType::F32);
        let ne: Vec<u64> = tensor["ne"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(info.dims, ne);
        let values: Vec<f32> = tensor["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        assert_eq!(file.dequantize(name).expect("dequantize").data, values);
    }
}

#[test]
fn default_model_has_the_expected_layout() {
    let Some(path) = real_model() else { return };
    let file = GgufFile::open(&path).expect("open the default model");
    assert_eq!(file.version(), 3);
    assert_eq!(file.get_str("general.architecture").unwrap(), "llama");
    assert_eq!(file.get_u32("llama.block_count").unwrap(), 30);
    assert_eq!(
        file.tensors().len(),
        30 * 9 + 2,
        "9 tensors per block, embedding and final norm"
    );
    let embd = file.tensor("token_embd.weight").expect("embedding");
    assert_eq!(embd.ggml_type, GgmlType::Q8_0);
    assert_eq!(
        file.tensor("blk.0.ffn_down.weight").unwrap().ggml_type,
        GgmlType::Q4_1
    );
    assert_eq!(
        file.tensor("blk.0.attn_norm.weight").unwrap().ggml_type,
        GgmlType::F32
    );
    let started = std::time::Instant::now();
    let embedding = file
        .dequantize("token_embd.weight")
        .expect("dequantize embedding");
    eprintln!("dequantized the embedding in {:?}", started.elapsed());
    assert_eq!(embedding.shape, vec![49152, 576]);
    assert!(embedding.data.iter().all(|v| v.is_finite()));
}
