//! The capture WebSocket's messages against their JSON Schema, `docs/protocol.schema.json`: one
//! of every message the code can send, and the schema's lists against the code's. (Every message
//! of the real captures in `capture.rs` is checked as it arrives, by `common::protocol`.)
mod common;

use app::{
    api::{ChallengeKind, Mode, Reason, Verdict},
    ws::{CameraMetadata, ClientMessage, FaceBox, FaceStatus, ServerMessage},
};
use serde_json::{json, Value};

use common::protocol::PROTOCOL;

/// Which variant a server message is. Exhaustive on purpose: a new variant does not compile
/// until it has an arm here and a sample in [`server_samples`], and the test below then fails
/// until `docs/protocol.schema.json` describes it.
fn arm(m: &ServerMessage) -> usize {
    match m {
        ServerMessage::Ready { .. } => 0,
        ServerMessage::Face { .. } => 1,
        ServerMessage::Challenge { .. } => 2,
        ServerMessage::ChallengePassed { .. } => 3,
        ServerMessage::Progress { .. } => 4,
        ServerMessage::Analyzing => 5,
        ServerMessage::Verdict { .. } => 6,
        ServerMessage::Error { .. } => 7,
        ServerMessage::Light { .. } => 8,
    }
}
const ARMS: usize = 9;

/// At least one of each variant, with every optional field both present and absent.
fn server_samples() -> Vec<ServerMessage> {
    let face = |face_box| ServerMessage::Face {
        status: FaceStatus::TooFar,
        face_box,
        frame_width: 640,
        frame_height: 480,
    };
    let verdict = |redirect| ServerMessage::Verdict {
        verdict: Verdict::Retry,
        confidence: 0.4512,
        reasons: Reason::ALL.to_vec(),
        redirect,
    };
    vec![
        ServerMessage::Ready {
            mode: Mode::Passive,
            challenges: 0,
        },
        face(None),
        face(Some(FaceBox {
            left: 281.4,
            top: 190.2,
            width: 71.0,
            height: 88.5,
        })),
        ServerMessage::Challenge {
            kind: ChallengeKind::TurnLeft,
            index: 0,
            total: 3,
            seconds_left: 8.0,
        },
        ServerMessage::ChallengePassed {
            kind: ChallengeKind::MouthOpen,
            index: 2,
        },
        ServerMessage::Progress { value: 0.33333334 },
        ServerMessage::Light {
            colors: server::engine::light::PALETTE
                .iter()
                .map(|c| c.to_string())
                .collect(),
            step_ms: server::engine::light::STEP_MS,
        },
        ServerMessage::Analyzing,
        verdict(None),
        verdict(Some("https://example.com/back?session_id=3f1c".into())),
        ServerMessage::Error {
            code: "frame_too_large".into(),
            message: "the frame is larger than 1500000 bytes".into(),
        },
    ]
}

#[test]
fn every_server_message_matches_the_schema() {
    let samples = server_samples();
    for i in 0..ARMS {
        assert!(
            samples.iter().any(|m| arm(m) == i),
            "server_samples() has no sample of variant #{i} of ServerMessage"
        );
    }
    for m in &samples {
        let v = serde_json::to_value(m).unwrap();
        PROTOCOL.check("server", &v);
    }
}

#[test]
fn the_browser_messages_match_the_schema() {
    let hello = ClientMessage::Hello {
        camera: CameraMetadata {
            label: Some("FaceTime HD Camera".into()),
            width: Some(640),
            height: Some(480),
            frame_rate: Some(30.0),
            facing_mode: Some("user".into()),
        },
        locale: Some("en".into()),
        reduced_motion: true,
    };
    let frame_time = ClientMessage::FrameTime { t_ms: 10512.4 };
    let shown = ClientMessage::LightShown {
        index: 7,
        t_ms: 14521.0,
    };
    for m in [hello, frame_time, shown, ClientMessage::Cancel] {
        PROTOCOL.check("client", &serde_json::to_value(&m).unwrap());
    }
    // What a browser may leave out or set to null is optional in the schema too, and the
    // server reads it.
    for raw in [
        json!({"type": "hello"}),
        json!({"type": "hello", "camera": {"label": null, "width": null}, "locale": null}),
    ] {
        PROTOCOL.check("client", &raw);
        serde_json::from_value::<ClientMessage>(raw).unwrap();
    }
}

/// The schema's lists are the code's: every reason, challenge, mode and verdict.
#[test]
fn the_schema_lists_what_the_code_knows() {
    let defs = &PROTOCOL.doc["$defs"];
    let sorted = |v: &Value| {
        let mut names: Vec<String> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        sorted(&defs["Reason"]["enum"]),
        sorted(&json!(Reason::ALL)),
        "the reasons of docs/protocol.schema.json"
    );
    assert_eq!(
        sorted(&defs["ChallengeKind"]["enum"]),
        sorted(&json!(ChallengeKind::ALL))
    );
    assert_eq!(defs["Mode"]["enum"], json!([Mode::Active, Mode::Passive]));
    assert_eq!(
        defs["server.verdict"]["properties"]["verdict"]["enum"],
        json!([Verdict::Pass, Verdict::Fail, Verdict::Retry])
    );
    // Every message definition is reachable from its direction's list.
    for (name, list) in [("server.", "ServerMessage"), ("client.", "ClientMessage")] {
        let listed: Vec<&str> = defs[list]["oneOf"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["$ref"].as_str()?.strip_prefix("#/$defs/"))
            .collect();
        let defined = defs
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| k.starts_with(name));
        for d in defined {
            assert!(listed.contains(&d.as_str()), "$defs/{d} is not in {list}");
        }
    }
}

/// A message the schema does not know fails with a message that says what to add.
#[test]
#[should_panic(expected = "add `$defs/server.glow`")]
fn an_undescribed_message_fails_clearly() {
    PROTOCOL.check("server", &json!({"type": "glow", "colors": ["#ff0000"]}));
}

/// Wrong fields fail too: the schema is strict about what the server sends.
#[test]
fn the_schema_refuses_a_wrong_server_message() {
    for bad in [
        json!({"type": "progress", "value": 1.5}),
        json!({"type": "progress", "value": null}),
        json!({"type": "ready", "mode": "active", "challenges": 3, "extra": 1}),
        json!({"type": "face", "status": "somewhere", "frame_width": 1, "frame_height": 1}),
    ] {
        let check = std::panic::AssertUnwindSafe(|| PROTOCOL.check("server", &bad));
        let caught = std::panic::catch_unwind(check);
        assert!(caught.is_err(), "{bad} was accepted");
    }
}
