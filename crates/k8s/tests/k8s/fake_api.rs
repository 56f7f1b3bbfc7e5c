//! A loopback stand-in for the Kubernetes API server: it answers exactly the REST calls the
//! launcher makes (POST, GET, DELETE of pods and secrets in one namespace, list and watch of
//! pods by label) the way the API server does, records every request with its body, and lets
//! a test move a pod's phase or delete it behind the launcher's back. No real API server
//! installs here (see ARCHITECTURE.md); this checks the client's side of the wire.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::http::{Method, StatusCode, Uri};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::broadcast;

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub body: Value,
}

#[derive(Default)]
struct State {
    pods: BTreeMap<String, Value>,
    secrets: BTreeMap<String, Value>,
    requests: Vec<Recorded>,
    version: u64,
    refuse_pods: bool,
    refuse_secrets: bool,
}

pub struct FakeApi {
    namespace: String,
    state: Mutex<State>,
    events: broadcast::Sender<String>,
}

impl FakeApi {
    /// Serves on a random loopback port; returns the server and its base URL.
    pub async fn start(namespace: &str) -> (Arc<Self>, String) {
        let fake = Arc::new(Self {
            namespace: namespace.to_owned(),
            state: Mutex::new(State::default()),
            events: broadcast::channel(64).0,
        });
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (fake, url)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.state().requests.clone()
    }

    pub fn pod(&self, name: &str) -> Option<Value> {
        self.state().pods.get(name).cloned()
    }

    pub fn secret(&self, name: &str) -> Option<Value> {
        self.state().secrets.get(name).cloned()
    }

    pub fn refuse_pods(&self) {
        self.state().refuse_pods = true;
    }

    pub fn refuse_secrets(&self) {
        self.state().refuse_secrets = true;
    }

    /// A pod that exists before the launcher starts (made by an earlier server).
    pub fn insert_pod(&self, pod: Value) {
        let mut s = self.state();
        let name = pod["metadata"]["name"].as_str().unwrap().to_owned();
        s.pods.insert(name, pod);
    }

    /// The kubelet's report: the pod's phase changes, and watchers hear of it.
    pub fn set_phase(&self, name: &str, phase: &str) {
        let pod = {
            let mut s = self.state();
            s.version += 1;
            let version = s.version.to_string();
            let pod = s.pods.get_mut(name).unwrap();
            pod["status"] = json!({ "phase": phase });
            pod["metadata"]["resourceVersion"] = version.into();
            pod.clone()
        };
        self.announce("MODIFIED", &pod);
    }

    /// Someone else deletes the pod (an operator, an eviction).
    pub fn delete_pod(&self, name: &str) {
        let pod = self.state().pods.remove(name).unwrap();
        self.announce("DELETED", &pod);
    }

    fn announce(&self, kind: &str, object: &Value) {
        let _ = self
            .events
            .send(format!("{}\n", json!({ "type": kind, "object": object })));
    }
}

fn status(code: StatusCode, reason: &str) -> Response {
    json_response(
        code,
        &json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": format!("{reason} (from the fake API server)"),
            "reason": reason, "code": code.as_u16(),
        }),
    )
}

fn json_response(code: StatusCode, body: &Value) -> Response {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

async fn handle(
    axum::extract::State(fake): axum::extract::State<Arc<FakeApi>>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    let body: Value = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    };
    let path = uri.path().to_owned();
    let query = uri.query().unwrap_or("").to_owned();
    // Subscribed before the request is visible to the test, so a watch misses no event the
    // test makes after seeing it.
    let events = fake.events.subscribe();
    fake.state().requests.push(Recorded {
        method: method.clone(),
        path: path.clone(),
        query: query.clone(),
        body: body.clone(),
    });
    let prefix = format!("/api/v1/namespaces/{}/", fake.namespace);
    let Some(rest) = path.strip_prefix(&prefix) else {
        return status(StatusCode::NOT_FOUND, "NotFound");
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let watch = query.split('&').any(|kv| kv == "watch=true");
    match (method, parts.as_slice()) {
        (Method::POST, [kind @ ("pods" | "secrets")]) => create(&fake, kind, body),
        (Method::GET, ["pods"]) if watch => {
            let stream = futures::stream::unfold(events, |mut rx| async move {
                match rx.recv().await {
                    Ok(line) => Some((Ok::<_, Infallible>(Bytes::from(line)), rx)),
                    Err(_) => None,
                }
            });
            Response::builder()
                .header("content-type", "application/json")
                .body(Body::from_stream(stream))
                .unwrap()
        }
        (Method::GET, ["pods"]) => {
            let s = fake.state();
            json_response(
                StatusCode::OK,
                &json!({
                    "kind": "PodList", "apiVersion": "v1",
                    "metadata": { "resourceVersion": s.version.to_string() },
                    "items": s.pods.values().collect::<Vec<_>>(),
                }),
            )
        }
        (Method::DELETE, [kind @ ("pods" | "secrets"), name]) => {
            let removed = {
                let mut s = fake.state();
                let map = if *kind == "pods" {
                    &mut s.pods
                } else {
                    &mut s.secrets
                };
                map.remove(*name)
            };
            match removed {
                Some(object) => {
                    if *kind == "pods" {
                        fake.announce("DELETED", &object);
                    }
                    json_response(StatusCode::OK, &object)
                }
                None => status(StatusCode::NOT_FOUND, "NotFound"),
            }
        }
        _ => status(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed"),
    }
}

fn create(fake: &FakeApi, kind: &str, mut object: Value) -> Response {
    let mut s = fake.state();
    if (kind == "pods" && s.refuse_pods) || (kind == "secrets" && s.refuse_secrets) {
        return status(StatusCode::FORBIDDEN, "Forbidden");
    }
    let Some(name) = object["metadata"]["name"].as_str().map(str::to_owned) else {
        return status(StatusCode::UNPROCESSABLE_ENTITY, "Invalid");
    };
    if object["metadata"]["namespace"] != fake.namespace.as_str() {
        return status(StatusCode::BAD_REQUEST, "BadRequest");
    }
    s.version += 1;
    object["metadata"]["uid"] = format!("uid-{kind}-{}", s.version).into();
    object["metadata"]["resourceVersion"] = s.version.to_string().into();
    let map = if kind == "pods" {
        object["status"] = json!({ "phase": "Pending" });
        &mut s.pods
    } else {
        &mut s.secrets
    };
    if map.contains_key(&name) {
        return status(StatusCode::CONFLICT, "AlreadyExists");
    }
    map.insert(name, object.clone());
    drop(s);
    if kind == "pods" {
        fake.announce("ADDED", &object);
    }
    json_response(StatusCode::CREATED, &object)
}
