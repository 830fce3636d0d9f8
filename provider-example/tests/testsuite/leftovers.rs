//! No resource leaves processes or files behind: one of each resource kind (a directory with a
//! file inside, a command that starts a background job, a service, a service that never became
//! ready) is created and deleted through real gRPC, after which the root is empty, no process
//! runs in it, and none of the processes they started is alive.

use crate::support;

use provider_sdk::PropertyMap;
use support::*;

#[tokio::test]
async fn every_resource_cleans_up_after_itself() {
    let mut p = Provider::start().await;
    let root = p.root();
    let mut pids = Vec::new();

    let dir = p
        .create(
            "local:index:Directory",
            "d",
            props! { "path" => "work" },
            0.0,
        )
        .await
        .unwrap();
    let file = p
        .create(
            "local:index:File",
            "f",
            props! { "path" => "work/a.txt", "content" => "a", "permissions" => "0600" },
            0.0,
        )
        .await
        .unwrap();

    // A command whose background job would outlive it if the provider let it.
    let cmd = p
        .create(
            "local:index:Command",
            "c",
            props! { "create" => "sleep 300 & echo $!", "delete" => "true", "dir" => "work" },
            0.0,
        )
        .await
        .unwrap();
    pids.push(string(&cmd.outputs, "stdout").parse::<i32>().unwrap());

    let port = free_port();
    let svc = p
        .create(
            "local:index:Service",
            "s",
            props! {
                "command" => format!("exec python3 -m http.server {port} --bind 127.0.0.1"),
                "readyPort" => port as i32,
                "readyTimeout" => 60,
                "logFile" => "service.log",
            },
            0.0,
        )
        .await
        .unwrap();
    pids.push(svc.id.parse().unwrap());
    assert!(root.join("service.log").exists());

    let never = p
        .create(
            "local:index:Service",
            "n",
            props! { "command" => "exec sleep 300", "readyPort" => free_port() as i32, "readyTimeout" => 1 },
            0.0,
        )
        .await
        .unwrap_err();
    let half = init_failed(&never).expect("a partial failure");
    pids.push(half.id.parse().unwrap());
    let half = Resource {
        id: half.id.clone(),
        outputs: provider_sdk::wire::decode_struct(half.properties.as_ref()).unwrap(),
        inputs: PropertyMap::new(),
    };

    // Destroy, dependents first, as the engine does.
    p.delete("local:index:Service", "n", &half, 0.0)
        .await
        .unwrap();
    p.delete("local:index:Service", "s", &svc, 0.0)
        .await
        .unwrap();
    p.delete("local:index:Command", "c", &cmd, 0.0)
        .await
        .unwrap();
    p.delete("local:index:File", "f", &file, 0.0).await.unwrap();
    p.delete("local:index:Directory", "d", &dir, 0.0)
        .await
        .unwrap();

    let root_dir = p.stop().await;
    assert_nothing_left(root_dir.path(), &pids).await;
}
