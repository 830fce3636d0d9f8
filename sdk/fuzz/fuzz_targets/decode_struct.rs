//! Decodes arbitrary bytes as a protobuf `Struct`, then as a `PropertyMap`: decoding must
//! never panic, and whatever decodes must re-encode to something that decodes the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message;
use provider_sdk::wire::{decode_struct, encode_map};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = prost_types::Struct::decode(data) else { return };
    let Ok(first) = decode_struct(Some(&s)) else { return };
    let encoded = encode_map(&first);
    let second = decode_struct(Some(&encoded)).expect("an encoded map decodes");
    // Compare encodings, not values: NaN is not equal to itself.
    assert_eq!(encode_map(&second).encode_to_vec(), encoded.encode_to_vec(), "decode . encode is stable");
});
