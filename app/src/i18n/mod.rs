//! Every user-facing string of the UI, one table per language. Components never hold literal
//! prose: they read a [`Strings`] table for the current [`Lang`]. Adding a language means adding
//! a variant, a table and a line in [`Lang::from_tag`].
use crate::api::{ChallengeKind, Reason, Verdict};
use crate::ws::FaceStatus;

mod de;
mod en;
mod es;
use {de::DE, en::EN, es::ES};

/// A UI language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    En,
    De,
    Es,
}

impl Lang {
    /// Picks a language from a BCP 47 tag (`de-CH`) or an `Accept-Language` header value
    /// (`de-CH,de;q=0.9,en;q=0.8`): the first entry we have a table for, else English.
    pub fn from_tag(tag: &str) -> Lang {
        tag.split(',')
            .filter_map(|part| {
                let primary = part.split(';').next()?.trim();
                let base = primary.split(['-', '_']).next()?.to_ascii_lowercase();
                match base.as_str() {
                    "en" => Some(Lang::En),
                    "de" => Some(Lang::De),
                    "es" => Some(Lang::Es),
                    _ => None,
                }
            })
            .next()
            .unwrap_or_default()
    }

    /// The tag for `<html lang>` and the `hello` message.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::De => "de",
            Lang::Es => "es",
        }
    }

    pub fn strings(self) -> &'static Strings {
        match self {
            Lang::En => &EN,
            Lang::De => &DE,
            Lang::Es => &ES,
        }
    }
}

/// The strings of one language.
pub struct Strings {
    pub title: &'static str,
    // Welcome screen.
    pub welcome_heading: &'static str,
    pub welcome_intro: &'static str,
    pub welcome_step_camera: &'static str,
    pub welcome_step_active: &'static str,
    pub welcome_step_passive: &'static str,
    pub welcome_duration: &'static str,
    pub welcome_tips: &'static str,
    pub privacy: &'static str,
    pub start: &'static str,
    // Camera request and capture.
    pub camera_requesting: &'static str,
    pub camera_allow_hint: &'static str,
    pub connecting: &'static str,
    pub preview_label: &'static str,
    pub cancel: &'static str,
    pub challenge_step: &'static str,
    pub seconds_left: &'static str,
    pub progress_label: &'static str,
    pub passive_prompt: &'static str,
    /// Shown while the screen-light challenge runs (what is happening, and what to do).
    pub light_prompt: &'static str,
    pub challenge_done: &'static str,
    pub analyzing: &'static str,
    pub analyzing_detail: &'static str,
    // Results.
    pub pass_heading: &'static str,
    pub pass_body: &'static str,
    pub fail_heading: &'static str,
    pub fail_body: &'static str,
    pub retry_heading: &'static str,
    pub retry_body: &'static str,
    pub try_again: &'static str,
    pub starting_again: &'static str,
    pub managed_retry: &'static str,
    pub redirecting: &'static str,
    pub continue_link: &'static str,
    /// The link back to the integrator's site from a screen that ends a managed session early.
    pub return_link: &'static str,
    pub close_page: &'static str,
    pub advice_heading: &'static str,
    pub cancelled_heading: &'static str,
    pub cancelled_body: &'static str,
    pub connection_lost_heading: &'static str,
    pub connection_lost_body: &'static str,
    pub server_error_heading: &'static str,
    pub server_error_body: &'static str,
    /// Every capture slot is taken (`capacity`): wait, then try again.
    pub busy_heading: &'static str,
    pub busy_body: &'static str,
    pub error_code: &'static str,
    // Pages for sessions that cannot be used.
    pub expired_heading: &'static str,
    pub expired_body: &'static str,
    pub used_heading: &'static str,
    pub used_body: &'static str,
    pub not_found_heading: &'static str,
    pub not_found_body: &'static str,
    pub invalid_link_heading: &'static str,
    pub invalid_link_body: &'static str,
    pub back_to_site: &'static str,
    pub loading: &'static str,
    // Camera problems: heading and what to do.
    pub cam_denied_heading: &'static str,
    pub cam_denied_body: &'static str,
    pub cam_missing_heading: &'static str,
    pub cam_missing_body: &'static str,
    pub cam_in_use_heading: &'static str,
    pub cam_in_use_body: &'static str,
    pub cam_insecure_heading: &'static str,
    pub cam_insecure_body: &'static str,
    pub cam_in_app_heading: &'static str,
    pub cam_in_app_body: &'static str,
    pub cam_unsupported_heading: &'static str,
    pub cam_unsupported_body: &'static str,
    pub retry_camera: &'static str,
    pub copy_link: &'static str,
    pub link_copied: &'static str,
    // The developer demo and the not-found page.
    pub demo_title: &'static str,
    pub demo_intro: &'static str,
    pub demo_mode: &'static str,
    pub demo_active: &'static str,
    pub demo_passive: &'static str,
    pub demo_start: &'static str,
    pub demo_creating: &'static str,
    pub demo_error: &'static str,
    pub demo_results: &'static str,
    pub demo_loading: &'static str,
    pub demo_verdict: &'static str,
    pub demo_confidence: &'static str,
    pub demo_layers: &'static str,
    pub demo_challenges: &'static str,
    pub demo_reasons: &'static str,
    pub demo_none: &'static str,
    pub demo_photo: &'static str,
    pub demo_no_photo: &'static str,
    pub demo_photo_missing: &'static str,
    pub demo_again: &'static str,
    pub demo_integrate: &'static str,
    pub demo_openapi: &'static str,
    pub demo_readme: &'static str,
    pub demo_met: &'static str,
    pub demo_not_met: &'static str,
    pub nf_heading: &'static str,
    pub nf_body: &'static str,
    pub nf_home: &'static str,
    /// Prompts, face guidance and advice, looked up by code.
    codes: &'static Phrases,
}

impl Strings {
    /// The prompt for one challenge.
    pub fn challenge(&self, kind: ChallengeKind) -> &'static str {
        let t = self.table();
        match kind {
            ChallengeKind::Blink => t.blink,
            ChallengeKind::TurnLeft => t.turn_left,
            ChallengeKind::TurnRight => t.turn_right,
            ChallengeKind::Nod => t.nod,
            ChallengeKind::Smile => t.smile,
            ChallengeKind::MouthOpen => t.mouth_open,
        }
    }

    /// Guidance for where the face is; `None` when all is well.
    pub fn face(&self, status: FaceStatus) -> Option<&'static str> {
        let t = self.table();
        Some(match status {
            FaceStatus::Ok => return None,
            FaceStatus::NoFace => t.no_face,
            FaceStatus::MultipleFaces => t.multiple_faces,
            FaceStatus::TooFar => t.too_far,
            FaceStatus::TooClose => t.too_close,
            FaceStatus::OffCenter => t.off_center,
            FaceStatus::TooDark => t.too_dark,
            FaceStatus::TooBright => t.too_bright,
            FaceStatus::Blurry => t.blurry,
            FaceStatus::NotFrontal => t.not_frontal,
        })
    }

    /// What to do about one reason of a `fail`/`retry` verdict.
    pub fn advice(&self, reason: Reason) -> &'static str {
        use Reason::*;
        let t = self.table();
        match reason {
            LowLight => t.adv_light,
            Overexposed | Glare => t.adv_glare,
            ChallengeTimeout | ChallengeFailed | UnpromptedAction => t.adv_challenge,
            NoMotionParallax | WeakMotionParallax | FrozenFrames | StillImage | NoMicroMotion
            | ScreenMoire | VirtualCamera | LightMismatch => t.adv_motion,
            FaceChanged | MultipleFaces => t.adv_one_person,
            NoFace | FaceTooFar | FaceTooClose | FaceOffCenter | FaceNotFrontal => t.adv_framing,
            Blurry => t.adv_blur,
            InsufficientEvidence => t.adv_evidence,
            LightTooWeak => t.adv_light_weak,
            Cancelled => t.adv_cancelled,
            SpoofSuspected | FrameRateMismatch | SyntheticMotion | InsufficientFrames | Timeout
            | ConnectionLost | Interrupted => t.adv_general,
        }
    }

    /// The advice for a verdict without any reason.
    pub fn general_advice(&self) -> &'static str {
        self.table().adv_general
    }

    pub fn verdict(&self, verdict: Verdict) -> &'static str {
        match verdict {
            Verdict::Pass => self.pass_heading,
            Verdict::Fail => self.fail_heading,
            Verdict::Retry => self.retry_heading,
        }
    }

    fn table(&self) -> &'static Phrases {
        self.codes
    }
}

/// Per-code phrases, kept apart from [`Strings`] so that the `match`es above stay exhaustive.
struct Phrases {
    blink: &'static str,
    turn_left: &'static str,
    turn_right: &'static str,
    nod: &'static str,
    smile: &'static str,
    mouth_open: &'static str,
    no_face: &'static str,
    multiple_faces: &'static str,
    too_far: &'static str,
    too_close: &'static str,
    off_center: &'static str,
    too_dark: &'static str,
    too_bright: &'static str,
    blurry: &'static str,
    not_frontal: &'static str,
    adv_light: &'static str,
    adv_glare: &'static str,
    adv_challenge: &'static str,
    adv_motion: &'static str,
    /// `insufficient_evidence`: what gives the engine its proof.
    adv_evidence: &'static str,
    adv_light_weak: &'static str,
    adv_one_person: &'static str,
    adv_framing: &'static str,
    adv_blur: &'static str,
    adv_cancelled: &'static str,
    adv_general: &'static str,
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_the_first_supported_language() {
        assert_eq!(Lang::from_tag("de-CH,de;q=0.9,en;q=0.8"), Lang::De);
        assert_eq!(Lang::from_tag("fr-FR,es;q=0.8"), Lang::Es);
        assert_eq!(Lang::from_tag("fr"), Lang::En);
        assert_eq!(Lang::from_tag(""), Lang::En);
        assert_eq!(Lang::from_tag("EN_gb"), Lang::En);
    }

    #[test]
    fn each_language_has_its_own_phrases() {
        let prompts: Vec<_> = [Lang::En, Lang::De, Lang::Es]
            .iter()
            .map(|l| l.strings().challenge(ChallengeKind::Blink))
            .collect();
        assert_eq!(prompts, ["Blink", "Blinzeln", "Parpadea"]);
        assert_eq!(
            Lang::De.strings().general_advice(),
            de::DE_PHRASES.adv_general
        );
        for lang in [Lang::En, Lang::De, Lang::Es] {
            for r in Reason::ALL {
                assert!(!lang.strings().advice(r).is_empty(), "{lang:?} {r}");
            }
        }
        assert!(Lang::En.strings().face(FaceStatus::Ok).is_none());
    }
}
