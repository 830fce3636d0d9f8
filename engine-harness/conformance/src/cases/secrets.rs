//! Secrets: secret inputs stay secret through every call and never reach a log.

use super::resource::cleanup;
use super::{CaseResult, Rec, Stop, start};
use crate::fixture::ResourceFixture;
use crate::kit::Ctx;
use crate::values::{PropertyMap, Value};

/// Every string inside a secret of `map`.
pub(super) fn secret_texts(map: &PropertyMap) -> Vec<String> {
    fn walk(v: &Value, inside: bool, out: &mut Vec<String>) {
        match v {
            Value::String(s) if inside && !s.is_empty() => out.push(s.clone()),
            Value::Secret(inner) => walk(inner, true, out),
            Value::Output {
                value: Some(inner),
                secret,
                ..
            } => walk(inner, inside || *secret, out),
            Value::Array(items) => items.iter().for_each(|i| walk(i, inside, out)),
            Value::Object(m) => m.values().for_each(|i| walk(i, inside, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    map.values().for_each(|v| walk(v, false, &mut out));
    out
}

pub(super) fn expect_secret(
    rec: &mut Rec,
    check: &str,
    outputs: &PropertyMap,
    secret_outputs: &[String],
    secrets: &[String],
) {
    for key in secret_outputs {
        match outputs.get(key) {
            Some(v) if v.is_secret() => {}
            Some(v) => {
                rec.fail(
                    format!("{check}: output `{key}`"),
                    "a secret (it derives from a secret input)",
                    format!(
                        "a plain {}: the secret was dropped{}",
                        v.kind_name(),
                        if secrets.iter().any(|s| v.leaks(s)) { " and the secret text appears in clear" } else { "" }
                    ),
                    "wrap outputs derived from secret inputs as secrets; otherwise the secret is stored and shown in plain text",
                );
                rec.sdk_fix(format!(
                    "the typed `Resource` marks outputs secret for you: take `{key}` out of `Resource::PLAIN_OUTPUTS`, \
                     or make its type `Secret<T>` or list it in `Resource::SECRET_OUTPUTS`"
                ));
            }
            None => rec.fail(
                format!("{check}: output `{key}`"),
                "a secret",
                "absent",
                format!("return `{key}`"),
            ),
        }
    }
    for (key, v) in outputs {
        if secret_outputs.contains(key) {
            continue;
        }
        if secrets.iter().any(|s| v.leaks(s)) {
            rec.fail(
                format!("{check}: output `{key}`"),
                "no secret text outside a secret",
                "a secret input's text appears in this output in clear".to_string(),
                format!("wrap `{key}` as a secret"),
            );
        }
    }
}

pub(super) async fn secrets(ctx: &Ctx, rec: &mut Rec, r: &ResourceFixture) -> CaseResult {
    let Some(fx) = &r.secrets else {
        return Err(Stop::NotApplicable(
            "the fixture gives no `secrets` inputs".into(),
        ));
    };
    let s = start(ctx).await?;
    if s.handshake.as_ref().is_some_and(|h| !h.accept_secrets)
        || s.configure.as_ref().is_some_and(|c| !c.accept_secrets)
    {
        rec.note("the plugin does not accept secrets: the engine re-marks outputs itself; checking that no secret leaks");
    }
    let news = ResourceFixture::map(&fx.inputs);
    let secrets = secret_texts(&news);
    let inputs = s
        .check_valid(r, &PropertyMap::new(), &news, "secret inputs")
        .await?;
    for (key, v) in &news {
        if v.is_secret() && inputs.get(key).is_some_and(|c| !c.is_secret()) {
            rec.fail(
                format!("{}: Check of secret inputs: input `{key}`", r.type_token),
                "still a secret",
                "a plain value: Check dropped the secret",
                "return checked inputs with their secret markings",
            );
        }
    }
    let (id, outputs) = s.create_ok(r, &inputs).await?;
    expect_secret(
        rec,
        &format!("Create({})", r.type_token),
        &outputs,
        &fx.secret_outputs,
        &secrets,
    );
    let mut state = (outputs.clone(), inputs.clone());
    match s.read(r, &id, &outputs, &inputs).await {
        Err(e) => rec.findings.push(e.finding(
            format!("Read({}) of a resource with secrets", r.type_token),
            "answer Read",
        )),
        Ok((_, props, _)) => expect_secret(
            rec,
            &format!("Read({})", r.type_token),
            &props,
            &fx.secret_outputs,
            &secrets,
        ),
    }
    if let Some(update) = &fx.update {
        let update = ResourceFixture::map(update);
        let mut all = secrets.clone();
        all.extend(secret_texts(&update));
        let checked = or_cleanup!(
            s.check_valid(r, &inputs, &update, "secret update inputs")
                .await,
            (&s, rec, r, &id, &outputs, &inputs)
        );
        match s.update(r, &id, &outputs, &inputs, &checked).await {
            Err(e) => rec.findings.push(e.finding(
                format!("Update({}) with secret inputs", r.type_token),
                "answer Update",
            )),
            Ok(after) => {
                expect_secret(
                    rec,
                    &format!("Update({})", r.type_token),
                    &after,
                    &fx.secret_outputs,
                    &all,
                );
                state = (after, checked);
            }
        }
    }
    cleanup(&s, rec, r, &id, &state.0, &state.1).await;
    for entry in s.plugin.engine.logs() {
        if secrets
            .iter()
            .any(|sec| entry.message.contains(sec.as_str()))
        {
            rec.fail(
                format!("{}: Engine.Log messages", r.type_token),
                "no secret text in log messages",
                "a Log message contains a secret input's text".to_string(),
                "never log secret values",
            );
            break;
        }
    }
    Ok(())
}
