//! `local:index:Random` on the typed layer, through the real plugin binary: the behaviour it had
//! before the port (length >= 1, length replaces, prefix updates in place keeping the random
//! part, a secret prefix makes the result secret, Read echoes the state).

use crate::support;

use provider_sdk::PropertyValue;
use provider_sdk::value::UnknownKind;
use support::{Provider, string};

const RANDOM: &str = "local:index:Random";

#[tokio::test]
async fn random_lifecycle() {
    let mut p = Provider::start().await;

    // Check: a length below 1 and a fractional length are failures on `length`.
    let failures = p
        .check(RANDOM, "r", &props! {}, props! { "length" => 0.0 })
        .await
        .unwrap_err();
    assert_eq!(failures.len(), 1);
    assert!(failures[0].starts_with("length: "), "{failures:?}");
    let failures = p
        .check(RANDOM, "r", &props! {}, props! { "length" => 2.5 })
        .await
        .unwrap_err();
    assert!(failures[0].starts_with("length: "), "{failures:?}");
    let failures = p
        .check(RANDOM, "r", &props! {}, props! { "prefix" => "x" })
        .await
        .unwrap_err();
    assert!(
        failures[0].starts_with("length: "),
        "missing length: {failures:?}"
    );

    // Create: `length` random characters after the prefix.
    let r = p
        .create(
            RANDOM,
            "r",
            props! { "length" => 12.0, "prefix" => "app-" },
            0.0,
        )
        .await
        .unwrap();
    assert!(!r.id.is_empty());
    let result = string(&r.outputs, "result");
    assert!(result.starts_with("app-") && result.len() == 16, "{result}");
    assert!(!r.outputs["result"].is_secret());

    // Diff: length replaces, prefix updates in place.
    let d = p
        .diff(
            RANDOM,
            "r",
            &r,
            &props! { "length" => 13.0, "prefix" => "app-" },
        )
        .await;
    assert_eq!(d.replaces, vec!["length".to_string()]);
    let d = p
        .diff(
            RANDOM,
            "r",
            &r,
            &props! { "length" => 12.0, "prefix" => "web-" },
        )
        .await;
    assert!(d.replaces.is_empty());
    assert_eq!(d.diffs, vec!["prefix".to_string()]);

    // Update keeps the random part.
    let u = p
        .update(
            RANDOM,
            "r",
            &r,
            props! { "length" => 12.0, "prefix" => "web-" },
            0.0,
        )
        .await
        .unwrap();
    assert_eq!(
        string(&u.outputs, "result"),
        format!("web-{}", &result[4..])
    );

    // Read echoes the recorded state.
    let read = p
        .read(RANDOM, "r", &u)
        .await
        .unwrap()
        .expect("still exists");
    assert_eq!(read.outputs, u.outputs);
    assert_eq!(read.inputs["length"], PropertyValue::from(12.0));

    // A secret prefix makes the result secret; the length stays plain.
    let mut inputs = props! { "length" => 8.0 };
    inputs.insert("prefix".into(), PropertyValue::secret("s-".into()));
    let s = p.create(RANDOM, "s", inputs, 0.0).await.unwrap();
    assert!(s.outputs["result"].is_secret());
    assert!(s.outputs["prefix"].is_secret());
    assert!(!s.outputs["length"].is_secret());

    // Preview with an unknown length: the result is unknown, the plugin creates nothing.
    let mut unknown = props! { "prefix" => "p-" };
    unknown.insert("length".into(), PropertyValue::Unknown(UnknownKind::Number));
    let resp = p
        .client
        .create(pulumirpc::CreateRequest {
            urn: support::urn(RANDOM, "u"),
            name: "u".into(),
            r#type: RANDOM.into(),
            properties: Some(provider_sdk::wire::encode_map(&unknown)),
            preview: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let outputs = provider_sdk::wire::decode_struct(resp.properties.as_ref()).unwrap();
    assert!(outputs["result"].is_unknown());
    assert_eq!(outputs["prefix"], PropertyValue::from("p-"));

    p.delete(RANDOM, "r", &u, 0.0).await.unwrap();
    p.delete(RANDOM, "s", &s, 0.0).await.unwrap();
    p.stop().await;
}
