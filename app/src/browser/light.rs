//! The screen-light challenge on the page (`docs/protocol.md`, "`light`"): each colour of the
//! server's sequence is painted for its step, timed on the display's own clock
//! (`requestAnimationFrame`), and every change is reported with the time of the frame that
//! painted it, on the same clock as the frames' capture times (`performance.now()`).
use std::{
    cell::{Cell, RefCell},
    rc::Rc,
};

use wasm_bindgen::{closure::Closure, JsCast};

type FrameCallback = Closure<dyn FnMut(f64)>;

/// A running sequence; dropping it stops the painting (the page then paints nothing more).
pub struct LightShow {
    stopped: Rc<Cell<bool>>,
    _callback: Rc<RefCell<Option<FrameCallback>>>,
}

impl LightShow {
    /// Starts painting `colors` for `step_ms` each: `paint` gets each colour and then `None`,
    /// `report` the index painted (the sequence's length for "off") and the frame's time in ms.
    pub fn start(
        colors: Vec<String>,
        step_ms: u32,
        paint: Rc<dyn Fn(Option<String>)>,
        report: Rc<dyn Fn(u32, f64)>,
    ) -> Option<LightShow> {
        let window = web_sys::window()?;
        let stopped = Rc::new(Cell::new(false));
        let callback: Rc<RefCell<Option<FrameCallback>>> = Rc::new(RefCell::new(None));
        let start = Cell::new(None::<f64>);
        let last = Cell::new(None::<usize>);
        let step = step_ms.max(1) as f64;
        let (again, stop, win) = (callback.clone(), stopped.clone(), window.clone());
        *callback.borrow_mut() = Some(Closure::new(move |now: f64| {
            if stop.get() {
                return;
            }
            let began = start.get().unwrap_or(now);
            start.set(Some(began));
            let index = ((now - began) / step).floor().max(0.0) as usize;
            if last.get() != Some(index) {
                last.set(Some(index));
                if index < colors.len() {
                    paint(Some(colors[index].clone()));
                    report(index as u32, now);
                } else {
                    paint(None);
                    report(colors.len() as u32, now);
                    stop.set(true);
                    return;
                }
            }
            if let Some(cb) = again.borrow().as_ref() {
                let _ = win.request_animation_frame(cb.as_ref().unchecked_ref());
            }
        }));
        if let Some(cb) = callback.borrow().as_ref() {
            window
                .request_animation_frame(cb.as_ref().unchecked_ref())
                .ok()?;
        }
        Some(LightShow {
            stopped,
            _callback: callback,
        })
    }
}

impl Drop for LightShow {
    fn drop(&mut self) {
        self.stopped.set(true);
    }
}

/// Whether the person asked the system for reduced motion.
pub fn prefers_reduced_motion() -> bool {
    web_sys::window()
        .and_then(|w| {
            w.match_media("(prefers-reduced-motion: reduce)")
                .ok()
                .flatten()
        })
        .is_some_and(|m| m.matches())
}

/// The page's clock, in ms (`performance.now()`).
pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}
