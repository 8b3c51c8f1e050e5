//! The JSON the session page reads and writes, without serde. The server speaks serde (`ws.rs`,
//! `api.rs`); in the browser, `serde_json` and serde's derived visitors were the largest part of
//! the session page's bundle that the browser's own `JSON.parse` / `JSON.stringify` can do
//! (docs/performance.md, "Page weight"). So the few messages the session page exchanges are read
//! through [`JsonRead`] and written as [`JsonOut`], both backed by the browser's JSON in the
//! browser build and by `serde_json` elsewhere, where the tests check every message against
//! serde's own encoding of it.
use crate::{
    api::{ChallengeKind, ErrorDetail, Mode, Reason, Verdict},
    session_info::{LinkState, SessionPageInfo},
    ws::{CameraMetadata, ClientMessage, FaceBox, FaceStatus, ServerMessage},
};

/// A parsed JSON value, read field by field.
pub trait JsonRead: Sized {
    /// Field `name` of an object; `None` when absent or when this is not an object.
    fn get(&self, name: &str) -> Option<Self>;
    fn string(&self) -> Option<String>;
    fn number(&self) -> Option<f64>;
    fn boolean(&self) -> Option<bool>;
    fn is_null(&self) -> bool;
    fn items(&self) -> Option<Vec<Self>>;

    fn str_of(&self, name: &str) -> Option<String> {
        self.get(name)?.string()
    }
    fn f64_of(&self, name: &str) -> Option<f64> {
        self.get(name)?.number()
    }
    fn u32_of(&self, name: &str) -> Option<u32> {
        let n = self.f64_of(name)?;
        (n.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(&n)).then_some(n as u32)
    }
    /// An optional field: `Some(None)` when absent or null, `None` when of another type.
    fn opt<T>(&self, name: &str, read: impl FnOnce(&Self) -> Option<T>) -> Option<Option<T>> {
        match self.get(name) {
            None => Some(None),
            Some(v) if v.is_null() => Some(None),
            Some(v) => read(&v).map(Some),
        }
    }
}

/// A JSON value to write; objects keep their fields in order.
#[derive(Debug, Clone, PartialEq)]
pub enum JsonOut {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Obj(Vec<(&'static str, JsonOut)>),
}

impl JsonOut {
    fn opt_str(s: &Option<String>) -> JsonOut {
        s.clone().map_or(JsonOut::Null, JsonOut::Str)
    }

    fn opt_num(n: Option<f64>) -> JsonOut {
        n.map_or(JsonOut::Null, JsonOut::Num)
    }
}

#[cfg(feature = "hydrate")]
mod backend {
    use super::{JsonOut, JsonRead};
    use wasm_bindgen::JsValue;

    pub type Parsed = JsValue;

    pub fn parse(text: &str) -> Option<JsValue> {
        js_sys::JSON::parse(text).ok()
    }

    impl JsonRead for JsValue {
        fn get(&self, name: &str) -> Option<Self> {
            if !self.is_object() {
                return None;
            }
            let v = js_sys::Reflect::get(self, &JsValue::from_str(name)).ok()?;
            (!v.is_undefined()).then_some(v)
        }
        fn string(&self) -> Option<String> {
            self.as_string()
        }
        fn number(&self) -> Option<f64> {
            self.as_f64()
        }
        fn boolean(&self) -> Option<bool> {
            self.as_bool()
        }
        fn is_null(&self) -> bool {
            JsValue::is_null(self)
        }
        fn items(&self) -> Option<Vec<Self>> {
            js_sys::Array::is_array(self)
                .then(|| js_sys::Array::from(self).iter().collect::<Vec<_>>())
        }
    }

    fn to_js(v: &JsonOut) -> JsValue {
        match v {
            JsonOut::Null => JsValue::NULL,
            JsonOut::Bool(b) => JsValue::from_bool(*b),
            JsonOut::Num(n) => JsValue::from_f64(*n),
            JsonOut::Str(s) => JsValue::from_str(s),
            JsonOut::Obj(fields) => {
                let obj = js_sys::Object::new();
                for (name, value) in fields {
                    let _ = js_sys::Reflect::set(&obj, &JsValue::from_str(name), &to_js(value));
                }
                obj.into()
            }
        }
    }

    pub fn text(v: &JsonOut) -> String {
        js_sys::JSON::stringify(&to_js(v))
            .ok()
            .and_then(|s| s.as_string())
            .unwrap_or_default()
    }
}

#[cfg(not(feature = "hydrate"))]
mod backend {
    use super::{JsonOut, JsonRead};
    use serde_json::Value;

    pub type Parsed = Value;

    pub fn parse(text: &str) -> Option<Value> {
        serde_json::from_str(text).ok()
    }

    impl JsonRead for Value {
        fn get(&self, name: &str) -> Option<Self> {
            self.as_object()?.get(name).cloned()
        }
        fn string(&self) -> Option<String> {
            self.as_str().map(str::to_owned)
        }
        fn number(&self) -> Option<f64> {
            self.as_f64()
        }
        fn boolean(&self) -> Option<bool> {
            self.as_bool()
        }
        fn is_null(&self) -> bool {
            Value::is_null(self)
        }
        fn items(&self) -> Option<Vec<Self>> {
            self.as_array().cloned()
        }
    }

    pub fn to_value(v: &JsonOut) -> Value {
        match v {
            JsonOut::Null => Value::Null,
            JsonOut::Bool(b) => Value::Bool(*b),
            // Whole numbers without a fraction, as the browser's `JSON.stringify` writes them.
            JsonOut::Num(n) if n.fract() == 0.0 && n.abs() < 9e15 => Value::from(*n as i64),
            JsonOut::Num(n) => serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number),
            JsonOut::Str(s) => Value::String(s.clone()),
            JsonOut::Obj(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(name, value)| ((*name).to_owned(), to_value(value)))
                    .collect(),
            ),
        }
    }

    pub fn text(v: &JsonOut) -> String {
        to_value(v).to_string()
    }
}

pub use backend::Parsed;

/// Parses JSON text with the platform's parser.
pub fn parse(text: &str) -> Option<Parsed> {
    backend::parse(text)
}

impl JsonOut {
    /// The value as JSON text.
    pub fn text(&self) -> String {
        backend::text(self)
    }
}

/// Reads an enum written as one of its names.
fn named<T: Copy>(all: &[T], name_of: impl Fn(T) -> &'static str, name: &str) -> Option<T> {
    all.iter().copied().find(|v| name_of(*v) == name)
}

impl ServerMessage {
    /// The message as the server's serde encoding writes it (`ws.rs`), or `None` when it is not
    /// one the page knows.
    pub fn read<J: JsonRead>(v: &J) -> Option<ServerMessage> {
        let kind = |v: &J| {
            named(
                &ChallengeKind::ALL,
                ChallengeKind::as_str,
                &v.str_of("kind")?,
            )
        };
        Some(match v.str_of("type")?.as_str() {
            "ready" => ServerMessage::Ready {
                mode: Mode::parse(&v.str_of("mode")?)?,
                challenges: v.u32_of("challenges")?,
            },
            "face" => ServerMessage::Face {
                status: named(&FaceStatus::ALL, FaceStatus::as_str, &v.str_of("status")?)?,
                face_box: v.opt("box", |b| {
                    Some(FaceBox {
                        left: b.f64_of("left")? as f32,
                        top: b.f64_of("top")? as f32,
                        width: b.f64_of("width")? as f32,
                        height: b.f64_of("height")? as f32,
                    })
                })?,
                frame_width: v.u32_of("frame_width")?,
                frame_height: v.u32_of("frame_height")?,
            },
            "challenge" => ServerMessage::Challenge {
                kind: kind(v)?,
                index: v.u32_of("index")?,
                total: v.u32_of("total")?,
                seconds_left: v.f64_of("seconds_left")? as f32,
            },
            "challenge_passed" => ServerMessage::ChallengePassed {
                kind: kind(v)?,
                index: v.u32_of("index")?,
            },
            "progress" => ServerMessage::Progress {
                value: v.f64_of("value")? as f32,
            },
            "light" => ServerMessage::Light {
                colors: (v.get("colors")?.items()?.iter())
                    .map(JsonRead::string)
                    .collect::<Option<_>>()?,
                step_ms: v.u32_of("step_ms")?,
            },
            "analyzing" => ServerMessage::Analyzing,
            "verdict" => ServerMessage::Verdict {
                verdict: named(
                    &[Verdict::Pass, Verdict::Fail, Verdict::Retry],
                    Verdict::as_str,
                    &v.str_of("verdict")?,
                )?,
                confidence: v.f64_of("confidence")?,
                reasons: (v.get("reasons")?.items()?.iter())
                    .map(|r| Reason::from_code(&r.string()?))
                    .collect::<Option<_>>()?,
                redirect: v.opt("redirect", J::string)?,
            },
            "error" => ServerMessage::Error {
                code: v.str_of("code")?,
                message: v.str_of("message")?,
            },
            _ => return None,
        })
    }
}

impl ClientMessage {
    /// The message as the server's serde decoding reads it (`ws.rs`).
    pub fn to_json(&self) -> JsonOut {
        let tagged = |tag: &str, mut fields: Vec<(&'static str, JsonOut)>| {
            fields.insert(0, ("type", JsonOut::Str(tag.to_owned())));
            JsonOut::Obj(fields)
        };
        match self {
            ClientMessage::Hello {
                camera,
                locale,
                reduced_motion,
            } => tagged(
                "hello",
                vec![
                    ("camera", camera.to_json()),
                    ("locale", JsonOut::opt_str(locale)),
                    ("reduced_motion", JsonOut::Bool(*reduced_motion)),
                ],
            ),
            ClientMessage::FrameTime { t_ms } => {
                tagged("frame_time", vec![("t_ms", JsonOut::Num(*t_ms))])
            }
            ClientMessage::LightShown { index, t_ms } => tagged(
                "light_shown",
                vec![
                    ("index", JsonOut::Num(*index as f64)),
                    ("t_ms", JsonOut::Num(*t_ms)),
                ],
            ),
            ClientMessage::Cancel => tagged("cancel", vec![]),
        }
    }
}

impl CameraMetadata {
    fn to_json(&self) -> JsonOut {
        JsonOut::Obj(vec![
            ("label", JsonOut::opt_str(&self.label)),
            ("width", JsonOut::opt_num(self.width.map(f64::from))),
            ("height", JsonOut::opt_num(self.height.map(f64::from))),
            ("frame_rate", JsonOut::opt_num(self.frame_rate)),
            ("facing_mode", JsonOut::opt_str(&self.facing_mode)),
        ])
    }
}

impl SessionPageInfo {
    /// The page's information as the server function answers it (serde's encoding).
    pub fn read<J: JsonRead>(v: &J) -> Option<SessionPageInfo> {
        Some(SessionPageInfo {
            state: named(&LinkState::ALL, LinkState::as_str, &v.str_of("state")?)?,
            mode: Mode::parse(&v.str_of("mode")?)?,
            managed: v.get("managed")?.boolean()?,
            locale: v.opt("locale", J::string)?,
            back: v.opt("back", J::string)?,
        })
    }

    pub fn to_json(&self) -> JsonOut {
        JsonOut::Obj(vec![
            ("state", JsonOut::Str(self.state.as_str().to_owned())),
            ("mode", JsonOut::Str(self.mode.as_str().to_owned())),
            ("managed", JsonOut::Bool(self.managed)),
            ("locale", JsonOut::opt_str(&self.locale)),
            ("back", JsonOut::opt_str(&self.back)),
        ])
    }
}

impl ErrorDetail {
    /// The `detail` of an error body (`{"detail": {"code", "message"}}`).
    pub fn read_body<J: JsonRead>(v: &J) -> Option<ErrorDetail> {
        let detail = v.get("detail")?;
        Some(ErrorDetail {
            code: detail.str_of("code")?,
            message: detail.str_of("message")?,
        })
    }
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
