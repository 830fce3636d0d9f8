//! Calling back into the program: the `pulumirpc.Callbacks` service a language SDK serves for
//! the functions it registers (transforms, resource hooks). A [`pulumirpc::Callback`] names
//! the service's address (`target`) and the function (`token`); the request and the answer
//! travel as encoded protobuf messages inside `CallbackInvokeRequest`/`Response`.

use super::error::MonitorError;
use prost::Message;
use pulumirpc::callbacks_client::CallbacksClient;
use pulumirpc::{Callback, CallbackInvokeRequest};
use std::collections::HashMap;
use std::sync::Mutex;
use tonic::transport::{Channel, Endpoint};

/// One connection per callback address, made on first use and shared by every call.
#[derive(Debug, Default)]
pub struct CallbackClients {
    channels: Mutex<HashMap<String, Channel>>,
}

impl CallbackClients {
    fn channel(&self, target: &str) -> Result<Channel, MonitorError> {
        let mut channels = self.channels.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = channels.get(target) {
            return Ok(c.clone());
        }
        let uri = if target.contains("://") {
            target.to_string()
        } else {
            format!("http://{target}")
        };
        let endpoint = Endpoint::from_shared(uri).map_err(|e| MonitorError::InvalidField {
            urn: format!("(callback `{target}`)"),
            field: "target",
            message: format!("is not an address the engine can call back: {e}"),
        })?;
        let channel = endpoint.connect_lazy();
        channels.insert(target.to_string(), channel.clone());
        Ok(channel)
    }

    /// Calls `callback` with `request`, decoding its answer as `R`. `what` names the call for
    /// errors ("transform of resource X", "hook `h`").
    pub async fn invoke<R: Message + Default>(
        &self,
        callback: &Callback,
        request: &impl Message,
        what: &str,
    ) -> Result<R, MonitorError> {
        let mut client = CallbacksClient::new(self.channel(&callback.target)?)
            .max_decoding_message_size(pulumirpc::MAX_MESSAGE_SIZE)
            .max_encoding_message_size(pulumirpc::MAX_MESSAGE_SIZE);
        let answer = client
            .invoke(CallbackInvokeRequest {
                token: callback.token.clone(),
                request: request.encode_to_vec(),
            })
            .await
            .map_err(|s| MonitorError::Engine(format!("{what}: {}", s.message())))?;
        R::decode(answer.into_inner().response.as_slice()).map_err(|e| {
            MonitorError::Engine(format!(
                "{what}: the program's answer is not a valid message: {e}"
            ))
        })
    }
}

/// Fails unless `callback` names an address to call back.
pub fn check_target(callback: &Callback, what: &str) -> Result<(), MonitorError> {
    if callback.target.is_empty() {
        return Err(MonitorError::InvalidField {
            urn: what.to_string(),
            field: "target",
            message: "must name the program's callback address".into(),
        });
    }
    Ok(())
}
