//! One capture: the verification WebSocket and the frame pump. `hello` goes first; then, at
//! about 12 fps, the preview's current frame is drawn to a canvas, encoded to JPEG (quality 0.8)
//! and sent as one binary message, just after a `frame_time` message with the moment it was
//! drawn. A `light` message from the server starts the screen-light sequence ([`LightShow`]). A frame is skipped while the previous one is still encoding
//! or while the socket's send buffer holds more than [`BACKPRESSURE_BYTES`], so a slow link
//! never builds a queue. Dropping the [`Capture`] closes the socket and turns the camera off.
use std::{
    cell::{Cell, RefCell},
    rc::Rc,
    time::Duration,
};

use leptos::prelude::{set_interval_with_handle, IntervalHandle};
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use web_sys::{
    Blob, CanvasRenderingContext2d, CloseEvent, HtmlCanvasElement, HtmlVideoElement, MediaStream,
    MessageEvent, WebSocket,
};

use super::light::{now_ms, LightShow};
use crate::ws::{ClientMessage, ServerMessage};

/// Frames per second sent to the server.
const FPS: u64 = 12;
/// Skip frames while more than this is waiting in the socket (about two JPEG frames).
pub const BACKPRESSURE_BYTES: u32 = 96 * 1024;
/// Frames are scaled down to at most this width.
const MAX_WIDTH: u32 = 640;
const JPEG_QUALITY: f64 = 0.8;

/// What the capture reports to the page.
pub enum Event {
    Server(ServerMessage),
    /// The socket closed or failed (not reported after [`Capture`] is dropped).
    Closed,
    /// Called with every frame tick: seconds since the previous one.
    Tick(f32),
    /// Paint the screen around the oval with this colour (`None`: back to normal).
    Light(Option<String>),
}

/// A running capture; drop it to stop.
pub struct Capture {
    ws: WebSocket,
    stream: MediaStream,
    pump: Option<IntervalHandle>,
    light: Rc<RefCell<Option<LightShow>>>,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

/// The WebSocket URL for a session on this page's origin.
pub fn socket_url(session_id: &str, capture: &str) -> Option<String> {
    let loc = super::location()?;
    let scheme = if loc.protocol().ok()? == "https:" {
        "wss"
    } else {
        "ws"
    };
    let host = loc.host().ok()?;
    let id = js_sys::encode_uri_component(session_id);
    let c = js_sys::encode_uri_component(capture);
    Some(format!("{scheme}://{host}/api/v1/session/{id}/ws?c={c}"))
}

impl Capture {
    /// Opens the socket and starts sending frames of `video` (already playing `stream`) once it
    /// is open. `on_event` runs on the browser's event loop.
    pub fn start(
        url: &str,
        video: HtmlVideoElement,
        stream: MediaStream,
        hello: ClientMessage,
        on_event: Rc<dyn Fn(Event)>,
    ) -> Result<Capture, JsValue> {
        let ws = WebSocket::new(url)?;
        let canvas: HtmlCanvasElement = web_sys::window()
            .and_then(|w| w.document())
            .ok_or_else(|| JsValue::from_str("no document"))?
            .create_element("canvas")?
            .dyn_into()?;
        let ctx: CanvasRenderingContext2d = canvas
            .get_context("2d")?
            .ok_or_else(|| JsValue::from_str("no 2d canvas"))?
            .dyn_into()?;

        let encoding = Rc::new(Cell::new(false));
        // When the frame being encoded was drawn, on the page's clock.
        let drawn_at = Rc::new(Cell::new(0.0f64));
        let on_blob = {
            let ws = ws.clone();
            let encoding = encoding.clone();
            let drawn_at = drawn_at.clone();
            // Owned by JS: an encoding still pending when the capture stops may call it later.
            let f = Closure::<dyn FnMut(JsValue)>::new(move |blob: JsValue| {
                encoding.set(false);
                if ws.ready_state() != WebSocket::OPEN {
                    return;
                }
                if let Ok(blob) = blob.dyn_into::<Blob>() {
                    let time = ClientMessage::FrameTime {
                        t_ms: drawn_at.get(),
                    };
                    let _ = ws.send_with_str(&time.to_json().text());
                    let _ = ws.send_with_blob(&blob);
                }
            });
            f.into_js_value().unchecked_into::<js_sys::Function>()
        };

        let on_open = {
            let ws = ws.clone();
            let text = hello.to_json().text();
            Closure::<dyn FnMut()>::new(move || {
                let _ = ws.send_with_str(&text);
            })
        };
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));

        let light: Rc<RefCell<Option<LightShow>>> = Rc::new(RefCell::new(None));
        let on_message = {
            let on_event = on_event.clone();
            let (ws, light) = (ws.clone(), light.clone());
            Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
                let Some(text) = ev.data().as_string() else {
                    return;
                };
                let msg = crate::wire::parse(&text)
                    .as_ref()
                    .and_then(ServerMessage::read);
                match msg {
                    Some(ServerMessage::Light { colors, step_ms }) => {
                        let paint = {
                            let on_event = on_event.clone();
                            Rc::new(move |c: Option<String>| on_event(Event::Light(c)))
                        };
                        let report = {
                            let ws = ws.clone();
                            Rc::new(move |index: u32, t_ms: f64| {
                                let msg = ClientMessage::LightShown { index, t_ms };
                                if ws.ready_state() == WebSocket::OPEN {
                                    let text = msg.to_json().text();
                                    let _ = ws.send_with_str(&text);
                                }
                            })
                        };
                        // A new sequence replaces one under way.
                        *light.borrow_mut() = LightShow::start(colors, step_ms, paint, report);
                    }
                    Some(msg) => on_event(Event::Server(msg)),
                    None => leptos::logging::warn!("unexpected server message: {text}"),
                }
            })
        };
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));

        let on_close = {
            let on_event = on_event.clone();
            Closure::<dyn FnMut(CloseEvent)>::new(move |_: CloseEvent| on_event(Event::Closed))
        };
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));

        let pump = {
            let ws = ws.clone();
            let on_blob = on_blob.clone();
            let on_event = on_event.clone();
            set_interval_with_handle(
                move || {
                    on_event(Event::Tick(1.0 / FPS as f32));
                    if ws.ready_state() != WebSocket::OPEN
                        || encoding.get()
                        || ws.buffered_amount() > BACKPRESSURE_BYTES
                    {
                        return;
                    }
                    let (vw, vh) = (video.video_width(), video.video_height());
                    if vw == 0 || vh == 0 {
                        return;
                    }
                    let w = vw.min(MAX_WIDTH);
                    let h = (vh as u64 * w as u64 / vw as u64) as u32;
                    if canvas.width() != w || canvas.height() != h {
                        canvas.set_width(w);
                        canvas.set_height(h);
                    }
                    if ctx
                        .draw_image_with_html_video_element_and_dw_and_dh(
                            &video, 0.0, 0.0, w as f64, h as f64,
                        )
                        .is_err()
                    {
                        return;
                    }
                    drawn_at.set(now_ms());
                    encoding.set(true);
                    let sent = canvas.to_blob_with_type_and_encoder_options(
                        &on_blob,
                        "image/jpeg",
                        &JsValue::from_f64(JPEG_QUALITY),
                    );
                    if sent.is_err() {
                        encoding.set(false);
                    }
                },
                Duration::from_millis(1000 / FPS),
            )?
        };

        Ok(Capture {
            ws,
            stream,
            pump: Some(pump),
            light,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
        })
    }

    /// Tells the server the person gave up.
    pub fn cancel(&self) {
        if self.ws.ready_state() == WebSocket::OPEN {
            let msg = ClientMessage::Cancel.to_json().text();
            let _ = self.ws.send_with_str(&msg);
        }
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        if let Some(pump) = self.pump.take() {
            pump.clear();
        }
        self.light.borrow_mut().take();
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let _ = self.ws.close_with_code(1000);
        super::camera::stop(&self.stream);
    }
}
