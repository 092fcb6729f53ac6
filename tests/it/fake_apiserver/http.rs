//! The fake's HTTP side: routing, list, create, merge patch, and watch streams.

use super::*;

fn status(code: u16, reason: &str, message: impl Into<String>) -> Response {
    let body = status_body(code, reason, message);
    let code = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn status_body(code: u16, reason: &str, message: impl Into<String>) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message.into(), "reason": reason, "code": code})
}

fn json_response(v: &Value) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}

fn parse_query(uri: &Uri) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for pair in uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        out.insert(decode(k), decode(v));
    }
    out
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `a=b`, `a==b`, `a!=b`, `a`, `!a`, comma-separated (all must hold).
fn selector_matches(selector: Option<&String>, obj: &Value) -> bool {
    let Some(sel) = selector.filter(|s| !s.is_empty()) else {
        return true;
    };
    let labels = &obj["metadata"]["labels"];
    sel.split(',').all(|term| {
        let term = term.trim();
        if let Some((k, v)) = term.split_once("!=") {
            labels[k.trim()].as_str() != Some(v.trim())
        } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
            labels[k.trim()].as_str() == Some(v.trim())
        } else if let Some(k) = term.strip_prefix('!') {
            labels.get(k).is_none()
        } else {
            labels.get(term).is_some()
        }
    })
}

/// A request path, parsed.
struct ApiPath {
    group: String,
    version: String,
    namespace: Option<String>,
    plural: String,
    name: Option<String>,
}

/// `/api/v1/[namespaces/NS/]PLURAL[/NAME]` or `/apis/G/V/[namespaces/NS/]PLURAL[/NAME]`.
fn parse_path(path: &str) -> Option<ApiPath> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api", v, rest @ ..] => (String::new(), v.to_string(), rest),
        ["apis", g, v, rest @ ..] => (g.to_string(), v.to_string(), rest),
        _ => return None,
    };
    let (namespace, plural, tail) = match rest {
        ["namespaces", ns, plural, tail @ ..] => (Some(ns.to_string()), plural, tail),
        [plural, tail @ ..] => (None, plural, tail),
        [] => return None,
    };
    Some(ApiPath {
        group,
        version,
        namespace,
        plural: plural.to_string(),
        name: tail.first().map(|s| s.to_string()),
    })
}

pub(super) async fn handle(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query = parse_query(&uri);
    let request = Request {
        method: method.clone(),
        path: uri.path().to_string(),
        query: query.clone(),
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    inner.store().log.push(request.clone());
    let writes = match inner
        .hook
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_mut()
    {
        Some(hook) => hook(&request),
        None => Vec::new(),
    };
    for obj in writes {
        put(&inner, obj);
    }
    if uri.path() == "/version" {
        return json_response(&json!({"major": "1", "minor": "33", "gitVersion": "v1.33.0-fake"}));
    }
    let Some(ApiPath {
        group,
        version,
        namespace: ns,
        plural,
        name,
    }) = parse_path(uri.path())
    else {
        return status(
            404,
            "NotFound",
            "the server could not find the requested resource",
        );
    };
    let def = {
        let s = inner.store();
        let Some(def) = s.find(&group, &version, &plural) else {
            return status(
                404,
                "NotFound",
                "the server could not find the requested resource",
            );
        };
        if s.forbidden.contains(&plural) {
            let verb = match (&method, &name, query.get("watch")) {
                (&Method::GET, None, Some(w)) if w == "true" || w == "1" => "watch",
                (&Method::GET, None, _) => "list",
                (&Method::GET, Some(_), _) => "get",
                (&Method::PATCH, ..) => "patch",
                (&Method::DELETE, ..) => "delete",
                _ => "create",
            };
            let scope = match &ns {
                Some(n) => format!("in the namespace \"{n}\""),
                None => "at the cluster scope".to_string(),
            };
            return status(
                403,
                "Forbidden",
                format!(
                    "{plural} is forbidden: User \"tester\" cannot {verb} resource \"{plural}\" in API group \"{group}\" {scope}"
                ),
            );
        }
        def
    };
    let watching = query.get("watch").is_some_and(|w| w == "true" || w == "1");
    match (method, name) {
        (Method::GET, None) if watching => watch_stream(inner, def, ns, query).await,
        (Method::GET, None) => list(&inner, &def, ns.as_deref(), &query),
        (Method::GET, Some(name)) => {
            let s = inner.store();
            match s
                .objects
                .get(&(def.plural, ns.unwrap_or_default(), name.clone()))
            {
                Some(o) => json_response(o),
                None => status(
                    404,
                    "NotFound",
                    format!("{} \"{name}\" not found", def.plural),
                ),
            }
        }
        (Method::POST, None) => create(&inner, &def, ns, &body),
        (Method::PATCH, Some(name)) => patch(&inner, &def, ns, name, &headers, &query, &body),
        (Method::DELETE, Some(name)) => {
            let mut s = inner.store();
            let key = (def.plural, ns.unwrap_or_default(), name.clone());
            match s.remove(&inner, &def, &key) {
                Some(o) => json_response(&o),
                None => status(
                    404,
                    "NotFound",
                    format!("{} \"{name}\" not found", def.plural),
                ),
            }
        }
        _ => status(
            405,
            "MethodNotAllowed",
            "the fake does not serve this method here",
        ),
    }
}

fn in_scope(def: &Def, key: &Key, plural: &str, ns: Option<&str>) -> bool {
    key.0 == plural && (!def.namespaced || ns.is_none_or(|n| n == key.1))
}

fn list(inner: &Inner, def: &Def, ns: Option<&str>, q: &BTreeMap<String, String>) -> Response {
    let s = inner.store();
    let matching: Vec<Value> = s
        .objects
        .iter()
        .filter(|(k, o)| {
            in_scope(def, k, def.plural, ns) && selector_matches(q.get("labelSelector"), o)
        })
        .map(|(_, o)| {
            let mut o = o.clone();
            if !def.crd {
                let m = o.as_object_mut().expect("object");
                m.remove("apiVersion");
                m.remove("kind");
            }
            o
        })
        .collect();
    let start: usize = q.get("continue").and_then(|c| c.parse().ok()).unwrap_or(0);
    let limit: usize = q
        .get("limit")
        .and_then(|l| l.parse().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX);
    let page: Vec<Value> = matching.iter().skip(start).take(limit).cloned().collect();
    let next = start.saturating_add(page.len());
    let mut metadata = json!({"resourceVersion": s.rv.to_string()});
    if next < matching.len() {
        metadata["continue"] = json!(next.to_string());
    }
    json_response(&json!({
        "apiVersion": def.api_version(),
        "kind": format!("{}List", def.kind),
        "metadata": metadata,
        "items": page,
    }))
}

fn create(inner: &Inner, def: &Def, ns: Option<String>, body: &[u8]) -> Response {
    let Ok(mut obj) = serde_json::from_slice::<Value>(body) else {
        return status(400, "BadRequest", "body is not JSON");
    };
    let Some(name) = obj["metadata"]["name"].as_str().map(String::from) else {
        return status(422, "Invalid", "metadata.name: Required value");
    };
    let ns = ns.unwrap_or_default();
    let key = (def.plural, ns, name.clone());
    let mut s = inner.store();
    if s.objects.contains_key(&key) {
        return status(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", def.plural),
        );
    }
    if let Some(md) = obj["metadata"].as_object_mut() {
        md.remove("resourceVersion");
    }
    let stored = s.write(inner, def, key, obj, "ADDED");
    (
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, "application/json")],
        stored.to_string(),
    )
        .into_response()
}

/// RFC 7386 JSON merge patch.
pub fn merge(target: &mut Value, patch: &Value) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    let t = target.as_object_mut().expect("object");
    for (k, v) in p {
        if v.is_null() {
            t.remove(k);
        } else {
            merge(t.entry(k.clone()).or_insert(Value::Null), v);
        }
    }
}

/// Record `manager` as the owner of the annotations the patch sets; an Update takes
/// ownership of a field away from other managers, and a removed annotation has no owner.
fn record_manager(obj: &mut Value, manager: &str, patch: &Value) {
    let Some(annotations) = patch["metadata"]["annotations"].as_object() else {
        return;
    };
    let entries = obj["metadata"]
        .as_object_mut()
        .expect("metadata")
        .entry("managedFields")
        .or_insert(json!([]));
    let list = entries.as_array_mut().expect("managedFields array");
    for e in list.iter_mut() {
        if let Some(owned) = e["fieldsV1"]["f:metadata"]["f:annotations"].as_object_mut() {
            for k in annotations.keys() {
                owned.remove(&format!("f:{k}"));
            }
        }
    }
    let idx = match list
        .iter()
        .position(|e| e["manager"] == manager && e["operation"] == "Update")
    {
        Some(i) => i,
        None => {
            list.push(
                json!({"manager": manager, "operation": "Update", "apiVersion": "v1",
                             "fieldsType": "FieldsV1", "fieldsV1": {}}),
            );
            list.len() - 1
        }
    };
    let mine = &mut list[idx];
    mine["time"] = json!("2024-01-01T00:00:00Z");
    for (k, v) in annotations {
        if !v.is_null() {
            mine["fieldsV1"]["f:metadata"]["f:annotations"][format!("f:{k}")] = json!({});
        }
    }
}

fn patch(
    inner: &Inner,
    def: &Def,
    ns: Option<String>,
    name: String,
    headers: &HeaderMap,
    q: &BTreeMap<String, String>,
    body: &[u8],
) -> Response {
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if ctype != "application/merge-patch+json" && ctype != "application/strategic-merge-patch+json"
    {
        return status(
            415,
            "UnsupportedMediaType",
            format!("the fake does not accept {ctype}"),
        );
    }
    let Ok(patch) = serde_json::from_slice::<Value>(body) else {
        return status(400, "BadRequest", "patch body is not JSON");
    };
    let key = (def.plural, ns.unwrap_or_default(), name.clone());
    let mut s = inner.store();
    let Some(current) = s.objects.get(&key).cloned() else {
        return status(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", def.plural),
        );
    };
    // A resourceVersion in the patch is a precondition, as on the real API server.
    if let Some(want) = patch["metadata"]["resourceVersion"].as_str()
        && Some(want) != current["metadata"]["resourceVersion"].as_str()
    {
        let what = if def.group.is_empty() {
            def.plural.to_string()
        } else {
            format!("{}.{}", def.plural, def.group)
        };
        return status(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {what} \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
            ),
        );
    }
    let mut next = current.clone();
    merge(&mut next, &patch);
    // The precondition is not part of the new object.
    next["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"].clone();
    if let Some(manager) = q.get("fieldManager") {
        record_manager(&mut next, manager, &patch);
    }
    if q.get("dryRun").is_some_and(|d| d == "All") {
        return json_response(&next);
    }
    let stored = s.write(inner, def, key, next, "MODIFIED");
    json_response(&stored)
}

fn event_line(type_: &str, object: &Value) -> Bytes {
    let mut line = json!({"type": type_, "object": object}).to_string();
    line.push('\n');
    Bytes::from(line)
}

async fn watch_stream(
    inner: Arc<Inner>,
    def: Def,
    ns: Option<String>,
    q: BTreeMap<String, String>,
) -> Response {
    // A held server answers nothing until released (the client sees a hanging request).
    let mut held = inner.held.subscribe();
    while *held.borrow_and_update() {
        if held.changed().await.is_err() {
            break;
        }
    }
    let from: Option<u64> = q
        .get("resourceVersion")
        .and_then(|v| v.parse().ok())
        .filter(|v| *v > 0);
    let bookmarks = q.get("allowWatchBookmarks").is_some_and(|b| b == "true");
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs);
    let selector = q.get("labelSelector").cloned();
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(256);
    let mut kill = inner.kill.subscribe();
    kill.borrow_and_update();

    // Under the store lock: subscribe first, then replay, so no change falls in between.
    let (initial, mut live, current, gone) = {
        let s = inner.store();
        let live = inner.live.subscribe();
        let matches = |plural: &str, change_ns: &str, obj: &Value| {
            plural == def.plural
                && (ns.is_none() || ns.as_deref() == Some(change_ns))
                && selector_matches(selector.as_ref(), obj)
        };
        let mut initial = Vec::new();
        let mut gone = None;
        match from {
            Some(rv) if rv < s.compacted => {
                gone = Some(format!("too old resource version: {rv} ({})", s.rv));
            }
            Some(rv) => {
                for c in s.history.iter().filter(|c| c.rv > rv) {
                    if matches(c.plural, &c.namespace, &c.object) {
                        initial.push(event_line(c.type_, &c.object));
                    }
                }
            }
            None => {
                for ((plural, ons, _), o) in &s.objects {
                    if matches(plural, ons, o) {
                        initial.push(event_line("ADDED", o));
                    }
                }
            }
        }
        (initial, live, s.rv, gone)
    };
    let av = def.api_version();
    let kind = def.kind;
    let bookmark = move |rv: u64| {
        event_line(
            "BOOKMARK",
            &json!({"apiVersion": av, "kind": kind, "metadata": {"resourceVersion": rv.to_string()}}),
        )
    };
    tokio::spawn(async move {
        if let Some(msg) = gone {
            let _ = tx
                .send(Ok(event_line("ERROR", &status_body(410, "Expired", msg))))
                .await;
            return;
        }
        for line in initial {
            if tx.send(Ok(line)).await.is_err() {
                return;
            }
        }
        let mut last = current;
        if bookmarks && tx.send(Ok(bookmark(last))).await.is_err() {
            return;
        }
        let deadline = tokio::time::sleep(timeout.unwrap_or(Duration::from_secs(3600)));
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                // A drop wins over anything else ready at the same time.
                biased;
                _ = kill.changed() => {
                    // Break the chunked body: the client sees a connection error.
                    let _ = tx.send(Err(std::io::Error::other("watch dropped by the fake"))).await;
                    return;
                }
                _ = &mut deadline => {
                    if bookmarks {
                        let _ = tx.send(Ok(bookmark(last))).await;
                    }
                    return;
                }
                change = live.recv() => {
                    let Ok(c) = change else { return };
                    if c.plural != def.plural
                        || ns.as_deref().is_some_and(|n| n != c.namespace)
                        || !selector_matches(selector.as_ref(), &c.object)
                    {
                        continue;
                    }
                    last = c.rv;
                    if tx.send(Ok(event_line(c.type_, &c.object))).await.is_err() {
                        return;
                    }
                }
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from_stream(stream))
        .expect("response")
}
