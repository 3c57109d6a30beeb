//! The local Lambda service against real processes: `hello-lambda` (a real `lambda_runtime` binary that
//! echoes its event) and small shell scripts that misbehave on purpose (never answer, exit during init, post
//! an init error).

use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use xtask::localrt::{FunctionSpec, HttpInvoker, InvokeError, Invoker, LocalRuntime, RuntimeOptions};

mod common;
use common::{any_port, hello_bin};

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("niaga-localrt-{tag}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/usr/bin/env bash\n{body}")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// Takes one invocation from the Runtime API and never answers it. It waits in a bash builtin, so killing
/// bash leaves no child behind.
const NEVER_ANSWERS: &str = r#"
exec 3<>"/dev/tcp/${AWS_LAMBDA_RUNTIME_API%:*}/${AWS_LAMBDA_RUNTIME_API##*:}"
printf 'GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: %s\r\n\r\n' "$AWS_LAMBDA_RUNTIME_API" >&3
while read -r -t 30 line <&3; do :; done
"#;

/// Writes to both streams and dies before asking for work.
const DIES_DURING_INIT: &str = r#"
echo '{"level":"INFO","message":"starting"}'
echo "cannot start: no config" >&2
exit 3
"#;

/// Reports an init error through the Runtime API, then exits.
const POSTS_INIT_ERROR: &str = r#"
exec 3<>"/dev/tcp/${AWS_LAMBDA_RUNTIME_API%:*}/${AWS_LAMBDA_RUNTIME_API##*:}"
body='{"errorType":"Config.Missing","errorMessage":"DATABASE_URL is unset"}'
printf 'POST /2018-06-01/runtime/init/error HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nLambda-Runtime-Function-Error-Type: Runtime.InitError\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' "${#body}" "$body" >&3
read -r -t 5 status <&3
exit 1
"#;

/// Answers one invocation through the raw Runtime API with what it was given: its environment and the
/// invocation headers. Then exits.
const REPORTS_ITS_CONTRACT: &str = r#"
api="$AWS_LAMBDA_RUNTIME_API"
exec 3<>"/dev/tcp/${api%:*}/${api##*:}"
printf 'GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: %s\r\n\r\n' "$api" >&3
while IFS= read -r line <&3; do
  line=${line%$'\r'}
  [ -z "$line" ] && break
  case "${line,,}" in
    lambda-runtime-aws-request-id:*) id=${line#*: } ;;
    lambda-runtime-trace-id:*) trace=${line#*: } ;;
    lambda-runtime-invoked-function-arn:*) arn=${line#*: } ;;
    lambda-runtime-deadline-ms:*) deadline=${line#*: } ;;
  esac
done
body=$(printf '{"name":"%s","memory":"%s","version":"%s","group":"%s","stream":"%s","region":"%s","default_region":"%s","handler":"%s","custom":"%s","request_id":"%s","trace":"%s","arn":"%s","deadline":"%s"}' \
  "$AWS_LAMBDA_FUNCTION_NAME" "$AWS_LAMBDA_FUNCTION_MEMORY_SIZE" "$AWS_LAMBDA_FUNCTION_VERSION" \
  "$AWS_LAMBDA_LOG_GROUP_NAME" "$AWS_LAMBDA_LOG_STREAM_NAME" "$AWS_REGION" "$AWS_DEFAULT_REGION" "$_HANDLER" \
  "$NIAGA_CUSTOM" "$id" "$trace" "$arn" "$deadline")
exec 4<>"/dev/tcp/${api%:*}/${api##*:}"
printf 'POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' "$id" "${#body}" "$body" >&4
read -r -t 5 status <&4
"#;

async fn hello_runtime(max_instances: usize) -> LocalRuntime {
    let spec = FunctionSpec::new("hello", hello_bin()).with_max_instances(max_instances);
    let options = RuntimeOptions {
        echo: false,
        ..RuntimeOptions::default()
    };
    LocalRuntime::start_with(any_port(), vec![spec], options).await.unwrap()
}

fn process_is_gone(pid: u32) -> bool {
    // Gone, or a zombie waiting to be reaped: either way it no longer runs.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with(['Z', 'X'])),
    }
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..100 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting until {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invocation_echoes_its_payload() {
    let rt = hello_runtime(1).await;
    let payload = json!({"hello": "world", "n": [1, 2, 3], "nested": {"ok": true}});
    let inv = rt
        .invoke(
            "hello",
            payload.clone(),
            Some("Root=1-5e1f0000-abcdef0123456789abcdef01".into()),
        )
        .await
        .unwrap();
    assert_eq!(inv.response, Ok(payload));
    assert!(!inv.request_id.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_invocation_is_cold_and_the_second_warm() {
    let rt = hello_runtime(1).await;
    assert_eq!(
        rt.stats("hello").unwrap().cold_starts(),
        0,
        "nothing starts before the first invocation"
    );
    let first = rt.invoke("hello", json!(1), None).await.unwrap();
    let second = rt.invoke("hello", json!(2), None).await.unwrap();
    assert!(first.cold_start && first.init_duration.is_some(), "{first:?}");
    assert!(!second.cold_start && second.init_duration.is_none(), "{second:?}");
    assert_eq!(second.response, Ok(json!(2)));

    let stats = rt.stats("hello").unwrap();
    assert_eq!(stats.cold_starts(), 1);
    assert_eq!(stats.invocations(), 2);
    let instance = &stats.instances[0];
    let (init, first_response) = (instance.init.unwrap(), instance.first_response.unwrap());
    assert!(
        init <= first_response,
        "spawn→init {init:?} should not exceed spawn→first response {first_response:?}"
    );
    assert!(instance.alive);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_invoke_api_over_http_echoes_the_payload() {
    let rt = hello_runtime(1).await;
    let client = reqwest::Client::new();
    let url = format!("{}/2015-03-31/functions/hello/invocations", rt.invoke_url());
    let response = client.post(&url).json(&json!({"via": "http"})).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["x-amz-executed-version"], "$LATEST");
    assert!(response.headers().get("x-amz-function-error").is_none());
    assert_eq!(response.json::<Value>().await.unwrap(), json!({"via": "http"}));

    let accepted = client
        .post(&url)
        .header("X-Amz-Invocation-Type", "Event")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 202);

    let invoker = HttpInvoker::new(rt.invoke_url());
    let inv = invoker
        .invoke("hello", json!({"via": "HttpInvoker"}), None)
        .await
        .unwrap();
    assert_eq!(inv.response, Ok(json!({"via": "HttpInvoker"})));
    assert!(!inv.cold_start, "the earlier calls already started the instance");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_function_is_a_404_resource_not_found() {
    let rt = hello_runtime(1).await;
    let response = reqwest::Client::new()
        .post(format!("{}/2015-03-31/functions/nope/invocations", rt.invoke_url()))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    assert_eq!(response.headers()["x-amzn-errortype"], "ResourceNotFoundException");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["Type"], "User");
    assert!(
        body["message"].as_str().unwrap().starts_with("Function not found: "),
        "{body}"
    );

    assert_eq!(
        rt.invoke("nope", json!({}), None).await.unwrap_err(),
        InvokeError::FunctionNotFound("nope".into())
    );
    let over_http = HttpInvoker::new(rt.invoke_url())
        .invoke("nope", json!({}), None)
        .await
        .unwrap_err();
    assert_eq!(over_http, InvokeError::FunctionNotFound("nope".into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_kills_the_instance_and_reports_sandbox_timedout() {
    let dir = temp_dir("timeout");
    let spec = FunctionSpec::new("stuck", script(&dir, "stuck", NEVER_ANSWERS)).with_timeout_s(1);
    let options = RuntimeOptions {
        echo: false,
        ..RuntimeOptions::default()
    };
    let rt = LocalRuntime::start_with(any_port(), vec![spec], options).await.unwrap();

    let started = std::time::Instant::now();
    let inv = rt.invoke("stuck", json!({}), None).await.unwrap();
    let elapsed = started.elapsed();
    let error = inv.response.unwrap_err();
    assert_eq!(error.error_type, "Sandbox.Timedout", "{error:?}");
    assert!(
        error.error_message.contains("Task timed out after 1.00 seconds"),
        "{error:?}"
    );
    assert!(
        elapsed >= Duration::from_secs(1) && elapsed < Duration::from_secs(5),
        "took {elapsed:?}"
    );

    let stats = rt.stats("stuck").unwrap();
    let pid = stats.instances[0].pid.unwrap();
    assert!(!stats.instances[0].alive);
    eventually("the timed-out process is gone", || process_is_gone(pid)).await;

    let again = rt.invoke("stuck", json!({}), None).await.unwrap();
    assert!(again.cold_start, "a killed instance is replaced by a new one");
    assert_eq!(rt.stats("stuck").unwrap().cold_starts(), 2);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_instances_come_back_cold() {
    let rt = hello_runtime(1).await;
    assert!(rt.invoke("hello", json!(1), None).await.unwrap().cold_start);
    assert!(!rt.invoke("hello", json!(2), None).await.unwrap().cold_start);
    let pid = rt.stats("hello").unwrap().instances[0].pid.unwrap();

    assert_eq!(rt.kill_instances("hello").await.unwrap(), 1);
    eventually("the killed process is gone", || process_is_gone(pid)).await;
    let stats = rt.stats("hello").unwrap();
    assert_eq!(stats.alive(), 0);
    assert!(
        stats.instances[0].exit.as_deref().unwrap().contains("SIGKILL"),
        "{stats:?}"
    );

    let after = rt.invoke("hello", json!(3), None).await.unwrap();
    assert!(after.cold_start);
    assert_eq!(after.response, Ok(json!(3)));
    assert_eq!(rt.stats("hello").unwrap().cold_starts(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_that_dies_during_init_fails_with_runtime_exit_error_and_its_output_is_logged() {
    let dir = temp_dir("init-exit");
    let logs = dir.join("logs");
    let spec = FunctionSpec::new("broken", script(&dir, "broken", DIES_DURING_INIT));
    let options = RuntimeOptions {
        echo: false,
        log_dir: Some(logs.clone()),
        ..RuntimeOptions::default()
    };
    let rt = LocalRuntime::start_with(any_port(), vec![spec], options).await.unwrap();

    let inv = rt.invoke("broken", json!({}), None).await.unwrap();
    assert!(inv.cold_start);
    let error = inv.response.unwrap_err();
    assert_eq!(error.error_type, "Runtime.ExitError");
    assert!(error.error_message.contains("exit status: 3"), "{error:?}");

    let log = std::fs::read_to_string(logs.join("broken.log")).unwrap();
    assert!(
        log.lines().any(|l| l == r#"{"level":"INFO","message":"starting"}"#),
        "stdout line missing: {log}"
    );
    assert!(
        log.lines().any(|l| l == "cannot start: no config"),
        "stderr line missing: {log}"
    );

    // Respawned on the next demand, and failing the same way.
    let again = rt.invoke("broken", json!({}), None).await.unwrap();
    assert_eq!(again.response.unwrap_err().error_type, "Runtime.ExitError");
    assert_eq!(rt.stats("broken").unwrap().cold_starts(), 2);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_init_error_payload_is_included_in_the_exit_error() {
    let dir = temp_dir("init-error");
    let spec = FunctionSpec::new("misconfigured", script(&dir, "misconfigured", POSTS_INIT_ERROR));
    let options = RuntimeOptions {
        echo: false,
        ..RuntimeOptions::default()
    };
    let rt = LocalRuntime::start_with(any_port(), vec![spec], options).await.unwrap();

    let error = rt
        .invoke("misconfigured", json!({}), None)
        .await
        .unwrap()
        .response
        .unwrap_err();
    assert_eq!(error.error_type, "Runtime.ExitError");
    assert!(error.error_message.contains("Config.Missing"), "{error:?}");
    assert!(error.error_message.contains("DATABASE_URL is unset"), "{error:?}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_invocations_scale_out_up_to_max_instances() {
    for max in [1, 2] {
        let rt = hello_runtime(max).await;
        let calls = (0..8).map(|i| rt.invoke("hello", json!(i), None));
        let results = futures::future::join_all(calls).await;
        for (i, r) in results.into_iter().enumerate() {
            assert_eq!(r.unwrap().response, Ok(json!(i)));
        }
        let stats = rt.stats("hello").unwrap();
        // All eight wait at once, so the runtime scales to exactly `max` instances and no further.
        assert_eq!(stats.cold_starts(), max, "max_instances {max}");
        assert_eq!(stats.invocations(), 8);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutting_down_or_dropping_the_runtime_leaves_no_process_behind() {
    let mut rt = hello_runtime(1).await;
    rt.invoke("hello", json!({}), None).await.unwrap();
    let pid = rt.stats("hello").unwrap().instances[0].pid.unwrap();
    rt.shutdown().await;
    eventually("the process is gone after shutdown", || process_is_gone(pid)).await;
    let err = rt.invoke("hello", json!({}), None).await.unwrap_err();
    assert!(matches!(err, InvokeError::Unavailable(_)), "{err:?}");

    let rt = hello_runtime(1).await;
    rt.invoke("hello", json!({}), None).await.unwrap();
    let pid = rt.stats("hello").unwrap().instances[0].pid.unwrap();
    drop(rt);
    eventually("the process is gone after drop", || process_is_gone(pid)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_gets_lambda_s_environment_and_invocation_headers() {
    let dir = temp_dir("contract");
    let spec = FunctionSpec::new("envy", script(&dir, "envy", REPORTS_ITS_CONTRACT))
        .with_memory_mb(256)
        .with_timeout_s(7)
        .with_env("NIAGA_CUSTOM", "from-spec")
        .with_env("AWS_REGION", "ap-southeast-3");
    let options = RuntimeOptions {
        echo: false,
        ..RuntimeOptions::default()
    };
    let rt = LocalRuntime::start_with(any_port(), vec![spec], options).await.unwrap();

    let trace = "Root=1-65a1b2c3-0123456789abcdef01234567";
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis();
    let inv = rt.invoke("envy", json!({}), Some(trace.into())).await.unwrap();
    let got = inv.response.unwrap();
    assert_eq!(got["name"], "envy");
    assert_eq!(got["memory"], "256");
    assert_eq!(got["version"], "$LATEST");
    assert_eq!(got["group"], "/aws/lambda/envy");
    assert!(got["stream"].as_str().unwrap().contains("[$LATEST]"), "{got}");
    assert_eq!(got["region"], "ap-southeast-3", "the spec's env wins");
    assert_eq!(got["default_region"], "us-east-1");
    assert_eq!(got["handler"], "bootstrap");
    assert_eq!(got["custom"], "from-spec");
    assert_eq!(got["request_id"], inv.request_id.as_str());
    assert_eq!(got["trace"], trace);
    assert_eq!(got["arn"], "arn:aws:lambda:us-east-1:000000000000:function:envy");
    let deadline: u128 = got["deadline"].as_str().unwrap().parse().unwrap();
    assert!(
        deadline >= before + 6_000 && deadline <= before + 9_000,
        "deadline {deadline} vs now {before}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
