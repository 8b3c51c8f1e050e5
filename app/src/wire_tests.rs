//! `wire`'s readers and writers, run over `serde_json`, against serde's own encoding.
use super::*;
use crate::api::ErrorBody;
use serde_json::json;

fn server_messages() -> Vec<ServerMessage> {
    let face = |face_box| ServerMessage::Face {
        status: FaceStatus::TooFar,
        face_box,
        frame_width: 640,
        frame_height: 480,
    };
    let mut all = vec![
        ServerMessage::Ready {
            mode: Mode::Passive,
            challenges: 0,
        },
        face(None),
        face(Some(FaceBox {
            left: 10.5,
            top: 20.25,
            width: 100.0,
            height: 120.0,
        })),
        ServerMessage::Progress { value: 0.375 },
        ServerMessage::Light {
            colors: vec!["#ff0000".into(), "#00ff00".into()],
            step_ms: 300,
        },
        ServerMessage::Analyzing,
        ServerMessage::Error {
            code: "capacity".into(),
            message: "busy \"now\"".into(),
        },
    ];
    for (i, kind) in ChallengeKind::ALL.into_iter().enumerate() {
        let index = i as u32;
        all.push(ServerMessage::Challenge {
            kind,
            index,
            total: 3,
            seconds_left: 4.5,
        });
        all.push(ServerMessage::ChallengePassed { kind, index });
    }
    for status in FaceStatus::ALL {
        all.push(ServerMessage::Face {
            status,
            face_box: None,
            frame_width: 1,
            frame_height: 1,
        });
    }
    for (verdict, redirect) in [
        (
            Verdict::Pass,
            Some("https://example.com/back?x=1".to_owned()),
        ),
        (Verdict::Fail, None),
        (Verdict::Retry, None),
    ] {
        all.push(ServerMessage::Verdict {
            verdict,
            confidence: 0.8125,
            reasons: Reason::ALL.to_vec(),
            redirect,
        });
    }
    all
}

#[test]
fn every_server_message_reads_as_serde_writes_it() {
    for msg in server_messages() {
        let text = serde_json::to_string(&msg).unwrap();
        let parsed = parse(&text).unwrap();
        assert_eq!(ServerMessage::read(&parsed), Some(msg), "{text}");
    }
}

#[test]
fn unknown_or_malformed_server_messages_are_refused() {
    for text in [
        r#"{"type":"nope"}"#,
        r#"{"type":"ready","mode":"sideways","challenges":1}"#,
        r#"{"type":"ready","mode":"active","challenges":-1}"#,
        r#"{"type":"ready","mode":"active","challenges":1.5}"#,
        r#"{"type":"light","colors":[1],"step_ms":10}"#,
        r#"{"type":"verdict","verdict":"pass","confidence":1,"reasons":["no_such_code"]}"#,
        r#"{"type":"face","status":"ok","box":7,"frame_width":1,"frame_height":1}"#,
        r#"[1,2]"#,
    ] {
        let parsed = parse(text).unwrap();
        assert_eq!(ServerMessage::read(&parsed), None, "{text}");
    }
}

#[test]
fn every_client_message_reads_back_through_serde() {
    let camera = CameraMetadata {
        label: Some("FaceTime \"HD\" Camera\n".into()),
        width: Some(1280),
        height: Some(720),
        frame_rate: Some(29.97),
        facing_mode: Some("user".into()),
    };
    for msg in [
        ClientMessage::Hello {
            camera,
            locale: Some("de-DE".into()),
            reduced_motion: true,
        },
        ClientMessage::Hello {
            camera: CameraMetadata::default(),
            locale: None,
            reduced_motion: false,
        },
        ClientMessage::FrameTime { t_ms: 1234.5678 },
        ClientMessage::LightShown {
            index: 3,
            t_ms: 99.0,
        },
        ClientMessage::Cancel,
    ] {
        let text = msg.to_json().text();
        let back: ClientMessage = serde_json::from_str(&text).unwrap();
        assert_eq!(back, msg, "{text}");
    }
}

#[test]
fn page_info_round_trips_both_ways() {
    for state in LinkState::ALL {
        for (managed, locale, back) in [
            (
                true,
                Some("es".to_owned()),
                Some("https://a.example/r?s=1".to_owned()),
            ),
            (false, None, None),
        ] {
            let info = SessionPageInfo {
                state,
                mode: Mode::Passive,
                managed,
                locale,
                back,
            };
            let text = info.to_json().text();
            assert_eq!(
                serde_json::from_str::<SessionPageInfo>(&text).unwrap(),
                info
            );
            let serde_text = serde_json::to_string(&info).unwrap();
            assert_eq!(
                SessionPageInfo::read(&parse(&serde_text).unwrap()),
                Some(info)
            );
        }
    }
}

#[test]
fn error_bodies_read_as_the_server_writes_them() {
    let body = ErrorBody {
        detail: ErrorDetail {
            code: "session_expired".into(),
            message: "the link has expired".into(),
        },
    };
    let parsed = parse(&serde_json::to_string(&body).unwrap()).unwrap();
    let detail = ErrorDetail::read_body(&parsed).unwrap();
    assert_eq!(
        (detail.code, detail.message),
        (body.detail.code, body.detail.message)
    );
    assert!(ErrorDetail::read_body(&json!({"detail": "x"})).is_none());
}
