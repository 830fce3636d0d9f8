//! Value conversions: protobuf `Struct` <-> `PropertyMap` <-> typed Rust values, for a small
//! payload (a Random resource's state) and a large one (about 1 MB encoded).
//!
//! Run: `cargo bench -p provider-sdk --bench conversions` (figures in BENCHMARKS.md).

// `criterion_group!` defines an undocumented public function.
#![allow(missing_docs)]

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use prost::Message;
use provider_sdk::wire::{decode_struct, encode_map};
use provider_sdk::{PropertyMap, Secret, serde_bridge};
use serde::{Deserialize, Serialize};

/// The small payload: what a Random resource records.
#[derive(Serialize, Deserialize, Clone)]
struct Small {
    length: u32,
    prefix: Option<Secret<String>>,
    result: String,
}

/// One entry of the large payload.
#[derive(Serialize, Deserialize, Clone)]
struct Rule {
    name: String,
    port: u16,
    weight: f64,
    enabled: bool,
    tags: BTreeMap<String, String>,
    token: Option<Secret<String>>,
}

/// The large payload.
#[derive(Serialize, Deserialize, Clone)]
struct Large {
    name: String,
    rules: Vec<Rule>,
}

fn small() -> Small {
    Small {
        length: 16,
        prefix: Some(Secret::new("app-".into())),
        result: "app-Zq3vX9kLmP0aB7cD".into(),
    }
}

fn large(target_bytes: usize) -> Large {
    let rule = |i: usize| Rule {
        name: format!("rule-{i:06}"),
        port: (i % 65535) as u16,
        weight: i as f64 / 7.0,
        enabled: i.is_multiple_of(2),
        tags: BTreeMap::from([
            ("env".into(), "production".into()),
            ("team".into(), format!("team-{}", i % 17)),
        ]),
        token: i
            .is_multiple_of(5)
            .then(|| Secret::new(format!("tok-{i:08}"))),
    };
    let mut large = Large {
        name: "firewall".into(),
        rules: Vec::new(),
    };
    // Grow in steps until the encoded payload reaches the target size.
    while encoded_len(&large) < target_bytes {
        let start = large.rules.len();
        large.rules.extend((start..start + 500).map(rule));
    }
    large
}

fn encoded_len<T: Serialize>(value: &T) -> usize {
    encode_map(&serde_bridge::to_property_map(value).unwrap()).encoded_len()
}

fn bench_payload<T>(c: &mut Criterion, label: &str, value: &T)
where
    T: Serialize + for<'de> Deserialize<'de>,
{
    let map: PropertyMap = serde_bridge::to_property_map(value).unwrap();
    let strukt = encode_map(&map);
    let bytes = strukt.encode_to_vec();
    let mut group = c.benchmark_group(format!("conversions/{label}"));
    group.throughput(Throughput::Bytes(bytes.len() as u64));
    if bytes.len() > 100_000 {
        group.sample_size(20);
    }
    group.bench_function(BenchmarkId::new("struct_to_map", bytes.len()), |b| {
        b.iter(|| decode_struct(Some(black_box(&strukt))).unwrap())
    });
    group.bench_function(BenchmarkId::new("map_to_struct", bytes.len()), |b| {
        b.iter(|| encode_map(black_box(&map)))
    });
    group.bench_function(BenchmarkId::new("map_to_typed", bytes.len()), |b| {
        b.iter(|| serde_bridge::from_property_map::<T>(black_box(&map)).unwrap())
    });
    group.bench_function(BenchmarkId::new("typed_to_map", bytes.len()), |b| {
        b.iter(|| serde_bridge::to_property_map(black_box(value)).unwrap())
    });
    group.bench_function(BenchmarkId::new("bytes_to_typed", bytes.len()), |b| {
        b.iter(|| {
            let s = prost_types::Struct::decode(black_box(bytes.as_slice())).unwrap();
            let m = decode_struct(Some(&s)).unwrap();
            serde_bridge::from_property_map::<T>(&m).unwrap()
        })
    });
    group.bench_function(BenchmarkId::new("typed_to_bytes", bytes.len()), |b| {
        b.iter(|| {
            encode_map(&serde_bridge::to_property_map(black_box(value)).unwrap()).encode_to_vec()
        })
    });
    group.finish();
}

fn conversions(c: &mut Criterion) {
    bench_payload(c, "small", &small());
    let large = large(1 << 20);
    bench_payload(c, "large", &large);
}

criterion_group!(benches, conversions);
criterion_main!(benches);
