//! Every user-facing string of the UI, one table per language. Components never hold literal
//! prose: they read a [`Strings`] table for the current [`Lang`]. Adding a language means adding
//! a variant, a table and a line in [`Lang::from_tag`].
use crate::api::{ChallengeKind, Verdict};
use crate::ws::FaceStatus;

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
    pub close_page: &'static str,
    pub advice_heading: &'static str,
    pub cancelled_heading: &'static str,
    pub cancelled_body: &'static str,
    pub connection_lost_heading: &'static str,
    pub connection_lost_body: &'static str,
    pub server_error_heading: &'static str,
    pub server_error_body: &'static str,
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

    /// What to do about one reason code of a `fail`/`retry` verdict. Unknown codes get a general
    /// line, so a new code on the server never shows up blank.
    pub fn advice(&self, reason: &str) -> &'static str {
        let t = self.table();
        match reason {
            "low_light" | "too_dark" => t.adv_light,
            "too_bright" | "glare" => t.adv_glare,
            "challenge_timeout" | "challenge_failed" | "challenges_failed" => t.adv_challenge,
            "no_motion_parallax" | "no_motion" | "too_still" | "frozen_frames" => t.adv_motion,
            "face_changed" | "multiple_faces" => t.adv_one_person,
            "no_face" | "face_lost" | "face_not_found" | "too_far" | "off_center" => t.adv_framing,
            "blurry" | "low_quality" => t.adv_blur,
            "cancelled" => t.adv_cancelled,
            _ => t.adv_general,
        }
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
    adv_one_person: &'static str,
    adv_framing: &'static str,
    adv_blur: &'static str,
    adv_cancelled: &'static str,
    adv_general: &'static str,
}

static EN: Strings = Strings {
    title: "Verify it's you",
    welcome_heading: "Quick face check",
    welcome_intro: "We'll make sure a real person is in front of the camera.",
    welcome_step_camera: "Allow access to your camera when your browser asks.",
    welcome_step_active: "Follow a few short prompts, like blinking or turning your head.",
    welcome_step_passive: "Look straight at the camera and hold still for a few seconds.",
    welcome_duration: "It takes about 20 seconds.",
    welcome_tips: "Find good light, remove sunglasses and keep only your face in view.",
    privacy: "Your video is analysed on this service's server only to check liveness. It is not shared, and the session's data is deleted after it expires.",
    start: "Start",
    camera_requesting: "Waiting for the camera…",
    camera_allow_hint: "If your browser asks, choose Allow.",
    connecting: "Connecting…",
    preview_label: "Camera preview",
    cancel: "Cancel",
    challenge_step: "Step",
    seconds_left: "s left",
    progress_label: "Progress",
    passive_prompt: "Look at the camera and hold still",
    challenge_done: "Done!",
    analyzing: "Analyzing…",
    analyzing_detail: "This takes a few seconds.",
    pass_heading: "You're verified",
    pass_body: "Thank you — the check is complete.",
    fail_heading: "We couldn't verify you",
    fail_body: "The check did not succeed.",
    retry_heading: "Let's try that again",
    retry_body: "We couldn't get a clear enough result.",
    try_again: "Try again",
    starting_again: "Starting a new check…",
    managed_retry: "To try again, go back to the site that sent you here and start a new check.",
    redirecting: "Taking you back in",
    continue_link: "Continue",
    close_page: "You can close this page now.",
    advice_heading: "What might help",
    cancelled_heading: "Check cancelled",
    cancelled_body: "You stopped the check before it finished.",
    connection_lost_heading: "Connection lost",
    connection_lost_body: "The connection to the server was interrupted. Check your network.",
    server_error_heading: "Something went wrong",
    server_error_body: "The server could not complete the check.",
    error_code: "Error code",
    expired_heading: "This link has expired",
    expired_body: "Verification links are valid for a limited time. Go back to the site that sent you here to get a new one.",
    used_heading: "This link was already used",
    used_body: "Each verification link works once. If you did not finish, go back to the site that sent you here to get a new one.",
    not_found_heading: "Verification not found",
    not_found_body: "We could not find this verification. Check that you opened the whole link.",
    invalid_link_heading: "This link is not valid",
    invalid_link_body: "The link is incomplete or was changed. Open it again from the message or site that sent it.",
    back_to_site: "Go back to the site that sent you here.",
    loading: "Loading…",
    cam_denied_heading: "Camera access is blocked",
    cam_denied_body: "Allow camera access for this site: tap the camera or lock icon in the address bar, choose Allow, then try again.",
    cam_missing_heading: "No camera found",
    cam_missing_body: "Connect a camera, or open this link on a phone or a computer that has one.",
    cam_in_use_heading: "The camera is busy",
    cam_in_use_body: "Another app or tab is using the camera. Close it (video calls, other tabs) and try again.",
    cam_insecure_heading: "This page needs a secure connection",
    cam_insecure_body: "Browsers only allow the camera on secure (https) pages. Open the https address of this page.",
    cam_in_app_heading: "Open this page in your browser",
    cam_in_app_body: "The app you opened this link in blocks the camera. Use its menu to open the link in Safari or Chrome, or copy the link and paste it there.",
    cam_unsupported_heading: "This browser can't use the camera",
    cam_unsupported_body: "Open this link in a current version of Chrome, Safari, Firefox or Edge.",
    retry_camera: "Try the camera again",
    copy_link: "Copy link",
    link_copied: "Link copied",
    demo_title: "iLive demo",
    demo_intro: "Try the verification as your users will see it: start a direct session, follow the prompts, then inspect the full result the API returns.",
    demo_mode: "Mode",
    demo_active: "Active — follow a few prompts",
    demo_passive: "Passive — hold still for a few seconds",
    demo_start: "Start a demo session",
    demo_creating: "Creating a session…",
    demo_error: "Could not start a session",
    demo_results: "Result from the API",
    demo_loading: "Loading the result…",
    demo_verdict: "Verdict",
    demo_confidence: "Confidence",
    demo_layers: "Layer scores",
    demo_challenges: "Challenges",
    demo_reasons: "Reasons",
    demo_none: "none",
    demo_photo: "Photo",
    demo_no_photo: "No photo: only a passed session has one.",
    demo_photo_missing: "The session passed, but the server has no photo for it.",
    demo_again: "Start another session",
    demo_integrate: "Integrate iLive",
    demo_openapi: "OpenAPI document",
    demo_readme: "See the README, section “The API in brief”, for the integration steps.",
    demo_met: "met",
    demo_not_met: "not met",
    nf_heading: "Page not found",
    nf_body: "There is nothing at this address.",
    nf_home: "Go to the start page",
    codes: &EN_PHRASES,
};

static EN_PHRASES: Phrases = Phrases {
    blink: "Blink",
    turn_left: "Turn your head left",
    turn_right: "Turn your head right",
    nod: "Nod your head",
    smile: "Smile",
    mouth_open: "Open your mouth",
    no_face: "We can't see your face",
    multiple_faces: "Only one person, please",
    too_far: "Move closer",
    too_close: "Move back a little",
    off_center: "Center your face in the oval",
    too_dark: "It's too dark — find more light",
    too_bright: "Too bright — avoid light behind or on the camera",
    blurry: "Hold still — the image is blurry",
    not_frontal: "Look straight at the camera",
    adv_light: "Find better light: face a window or a lamp.",
    adv_glare: "Avoid strong light behind you or shining into the camera.",
    adv_challenge: "Follow each prompt as soon as it appears.",
    adv_motion: "Use your own live camera, and move your head naturally when asked.",
    adv_one_person: "Make sure only you are in view for the whole check.",
    adv_framing: "Keep your face inside the oval, about an arm's length away.",
    adv_blur: "Hold the device steady and clean the camera lens.",
    adv_cancelled: "Start again when you are ready.",
    adv_general: "Use good light, look at the camera and follow the prompts.",
};

static DE: Strings = Strings {
    title: "Bestätigen Sie, dass Sie es sind",
    welcome_heading: "Kurzer Gesichtscheck",
    welcome_intro: "Wir prüfen, dass eine echte Person vor der Kamera ist.",
    welcome_step_camera: "Erlauben Sie den Zugriff auf Ihre Kamera, wenn der Browser fragt.",
    welcome_step_active: "Folgen Sie ein paar kurzen Anweisungen, etwa blinzeln oder den Kopf drehen.",
    welcome_step_passive: "Schauen Sie direkt in die Kamera und halten Sie einige Sekunden still.",
    welcome_duration: "Das dauert etwa 20 Sekunden.",
    welcome_tips: "Sorgen Sie für gutes Licht, nehmen Sie die Sonnenbrille ab und zeigen Sie nur Ihr Gesicht.",
    privacy: "Ihr Video wird nur auf dem Server dieses Dienstes ausgewertet, um die Echtheit zu prüfen. Es wird nicht weitergegeben, und die Daten der Sitzung werden nach Ablauf gelöscht.",
    start: "Starten",
    camera_requesting: "Warte auf die Kamera…",
    camera_allow_hint: "Wenn der Browser fragt, wählen Sie Erlauben.",
    connecting: "Verbinde…",
    preview_label: "Kameravorschau",
    cancel: "Abbrechen",
    challenge_step: "Schritt",
    seconds_left: "s übrig",
    progress_label: "Fortschritt",
    passive_prompt: "Schauen Sie in die Kamera und halten Sie still",
    challenge_done: "Geschafft!",
    analyzing: "Wird ausgewertet…",
    analyzing_detail: "Das dauert ein paar Sekunden.",
    pass_heading: "Sie sind bestätigt",
    pass_body: "Danke — die Prüfung ist abgeschlossen.",
    fail_heading: "Wir konnten Sie nicht bestätigen",
    fail_body: "Die Prüfung war nicht erfolgreich.",
    retry_heading: "Bitte versuchen Sie es noch einmal",
    retry_body: "Das Ergebnis war nicht eindeutig genug.",
    try_again: "Erneut versuchen",
    starting_again: "Neue Prüfung wird gestartet…",
    managed_retry: "Um es erneut zu versuchen, kehren Sie zur Website zurück, die Sie hierher geschickt hat, und starten Sie eine neue Prüfung.",
    redirecting: "Sie werden zurückgeleitet in",
    continue_link: "Weiter",
    close_page: "Sie können diese Seite jetzt schließen.",
    advice_heading: "Was helfen kann",
    cancelled_heading: "Prüfung abgebrochen",
    cancelled_body: "Sie haben die Prüfung vor dem Ende beendet.",
    connection_lost_heading: "Verbindung unterbrochen",
    connection_lost_body: "Die Verbindung zum Server wurde unterbrochen. Prüfen Sie Ihr Netzwerk.",
    server_error_heading: "Etwas ist schiefgelaufen",
    server_error_body: "Der Server konnte die Prüfung nicht abschließen.",
    error_code: "Fehlercode",
    expired_heading: "Dieser Link ist abgelaufen",
    expired_body: "Prüflinks gelten nur begrenzte Zeit. Holen Sie sich auf der Website, die Sie hierher geschickt hat, einen neuen.",
    used_heading: "Dieser Link wurde bereits verwendet",
    used_body: "Jeder Prüflink funktioniert nur einmal. Falls Sie nicht fertig geworden sind, holen Sie sich auf der Website, die Sie geschickt hat, einen neuen.",
    not_found_heading: "Prüfung nicht gefunden",
    not_found_body: "Diese Prüfung gibt es nicht. Prüfen Sie, ob Sie den vollständigen Link geöffnet haben.",
    invalid_link_heading: "Dieser Link ist ungültig",
    invalid_link_body: "Der Link ist unvollständig oder wurde verändert. Öffnen Sie ihn erneut aus der Nachricht oder Website.",
    back_to_site: "Kehren Sie zur Website zurück, die Sie hierher geschickt hat.",
    loading: "Wird geladen…",
    cam_denied_heading: "Kamerazugriff ist blockiert",
    cam_denied_body: "Erlauben Sie die Kamera für diese Seite: Tippen Sie auf das Kamera- oder Schloss-Symbol in der Adressleiste, wählen Sie Erlauben und versuchen Sie es erneut.",
    cam_missing_heading: "Keine Kamera gefunden",
    cam_missing_body: "Schließen Sie eine Kamera an oder öffnen Sie den Link auf einem Telefon oder Computer mit Kamera.",
    cam_in_use_heading: "Die Kamera ist belegt",
    cam_in_use_body: "Eine andere App oder ein anderer Tab nutzt die Kamera. Schließen Sie sie (Videoanrufe, andere Tabs) und versuchen Sie es erneut.",
    cam_insecure_heading: "Diese Seite braucht eine sichere Verbindung",
    cam_insecure_body: "Browser erlauben die Kamera nur auf sicheren (https) Seiten. Öffnen Sie die https-Adresse dieser Seite.",
    cam_in_app_heading: "Öffnen Sie die Seite im Browser",
    cam_in_app_body: "Die App, in der Sie den Link geöffnet haben, blockiert die Kamera. Öffnen Sie den Link über deren Menü in Safari oder Chrome, oder kopieren Sie ihn dorthin.",
    cam_unsupported_heading: "Dieser Browser kann die Kamera nicht nutzen",
    cam_unsupported_body: "Öffnen Sie den Link in einer aktuellen Version von Chrome, Safari, Firefox oder Edge.",
    retry_camera: "Kamera erneut versuchen",
    copy_link: "Link kopieren",
    link_copied: "Link kopiert",
    demo_title: "iLive-Demo",
    demo_intro: "Probieren Sie die Prüfung so aus, wie Ihre Nutzer sie sehen: direkte Sitzung starten, den Anweisungen folgen und dann das vollständige Ergebnis der API ansehen.",
    demo_mode: "Modus",
    demo_active: "Aktiv — ein paar Anweisungen folgen",
    demo_passive: "Passiv — einige Sekunden still halten",
    demo_start: "Demo-Sitzung starten",
    demo_creating: "Sitzung wird erstellt…",
    demo_error: "Sitzung konnte nicht gestartet werden",
    demo_results: "Ergebnis der API",
    demo_loading: "Ergebnis wird geladen…",
    demo_verdict: "Urteil",
    demo_confidence: "Konfidenz",
    demo_layers: "Werte je Ebene",
    demo_challenges: "Aufgaben",
    demo_reasons: "Gründe",
    demo_none: "keine",
    demo_photo: "Foto",
    demo_no_photo: "Kein Foto: nur bestandene Sitzungen haben eines.",
    demo_photo_missing: "Die Sitzung ist bestanden, aber der Server hat kein Foto dazu.",
    demo_again: "Neue Sitzung starten",
    demo_integrate: "iLive einbinden",
    demo_openapi: "OpenAPI-Dokument",
    demo_readme: "Die Schritte zur Einbindung stehen in der README, Abschnitt „The API in brief“.",
    demo_met: "erfüllt",
    demo_not_met: "nicht erfüllt",
    nf_heading: "Seite nicht gefunden",
    nf_body: "Unter dieser Adresse gibt es nichts.",
    nf_home: "Zur Startseite",
    codes: &DE_PHRASES,
};

static DE_PHRASES: Phrases = Phrases {
    blink: "Blinzeln",
    turn_left: "Kopf nach links drehen",
    turn_right: "Kopf nach rechts drehen",
    nod: "Nicken",
    smile: "Lächeln",
    mouth_open: "Mund öffnen",
    no_face: "Wir sehen Ihr Gesicht nicht",
    multiple_faces: "Bitte nur eine Person",
    too_far: "Kommen Sie näher",
    too_close: "Etwas weiter weg",
    off_center: "Gesicht ins Oval bringen",
    too_dark: "Zu dunkel — suchen Sie mehr Licht",
    too_bright: "Zu hell — vermeiden Sie Gegenlicht",
    blurry: "Still halten — das Bild ist unscharf",
    not_frontal: "Schauen Sie direkt in die Kamera",
    adv_light: "Sorgen Sie für besseres Licht: zum Fenster oder zu einer Lampe schauen.",
    adv_glare: "Vermeiden Sie starkes Licht hinter Ihnen oder in die Kamera.",
    adv_challenge: "Folgen Sie jeder Anweisung, sobald sie erscheint.",
    adv_motion: "Nutzen Sie Ihre eigene Live-Kamera und bewegen Sie den Kopf natürlich, wenn Sie dazu aufgefordert werden.",
    adv_one_person: "Achten Sie darauf, dass während der ganzen Prüfung nur Sie zu sehen sind.",
    adv_framing: "Halten Sie Ihr Gesicht im Oval, etwa eine Armlänge entfernt.",
    adv_blur: "Halten Sie das Gerät ruhig und reinigen Sie die Kameralinse.",
    adv_cancelled: "Starten Sie erneut, wenn Sie bereit sind.",
    adv_general: "Nutzen Sie gutes Licht, schauen Sie in die Kamera und folgen Sie den Anweisungen.",
};

static ES: Strings = Strings {
    title: "Confirma que eres tú",
    welcome_heading: "Comprobación rápida del rostro",
    welcome_intro: "Comprobaremos que hay una persona real delante de la cámara.",
    welcome_step_camera: "Permite el acceso a la cámara cuando el navegador lo pida.",
    welcome_step_active: "Sigue unas indicaciones breves, como parpadear o girar la cabeza.",
    welcome_step_passive: "Mira directamente a la cámara y quédate quieto unos segundos.",
    welcome_duration: "Tarda unos 20 segundos.",
    welcome_tips: "Busca buena luz, quítate las gafas de sol y deja solo tu cara a la vista.",
    privacy: "Tu vídeo se analiza solo en el servidor de este servicio para comprobar que eres real. No se comparte, y los datos de la sesión se borran cuando caduca.",
    start: "Empezar",
    camera_requesting: "Esperando a la cámara…",
    camera_allow_hint: "Si el navegador pregunta, elige Permitir.",
    connecting: "Conectando…",
    preview_label: "Vista previa de la cámara",
    cancel: "Cancelar",
    challenge_step: "Paso",
    seconds_left: "s restantes",
    progress_label: "Progreso",
    passive_prompt: "Mira a la cámara y quédate quieto",
    challenge_done: "¡Hecho!",
    analyzing: "Analizando…",
    analyzing_detail: "Esto tarda unos segundos.",
    pass_heading: "Verificación completada",
    pass_body: "Gracias: la comprobación ha terminado.",
    fail_heading: "No hemos podido verificarte",
    fail_body: "La comprobación no ha tenido éxito.",
    retry_heading: "Intentémoslo de nuevo",
    retry_body: "No obtuvimos un resultado suficientemente claro.",
    try_again: "Intentar de nuevo",
    starting_again: "Iniciando una nueva comprobación…",
    managed_retry: "Para intentarlo de nuevo, vuelve al sitio que te envió aquí e inicia una nueva comprobación.",
    redirecting: "Volviendo en",
    continue_link: "Continuar",
    close_page: "Ya puedes cerrar esta página.",
    advice_heading: "Qué puede ayudar",
    cancelled_heading: "Comprobación cancelada",
    cancelled_body: "Detuviste la comprobación antes de terminar.",
    connection_lost_heading: "Conexión perdida",
    connection_lost_body: "Se interrumpió la conexión con el servidor. Revisa tu red.",
    server_error_heading: "Algo salió mal",
    server_error_body: "El servidor no pudo completar la comprobación.",
    error_code: "Código de error",
    expired_heading: "Este enlace ha caducado",
    expired_body: "Los enlaces de verificación valen por tiempo limitado. Vuelve al sitio que te envió aquí para obtener uno nuevo.",
    used_heading: "Este enlace ya se usó",
    used_body: "Cada enlace de verificación funciona una vez. Si no terminaste, vuelve al sitio que te envió para obtener uno nuevo.",
    not_found_heading: "Verificación no encontrada",
    not_found_body: "No encontramos esta verificación. Comprueba que abriste el enlace completo.",
    invalid_link_heading: "Este enlace no es válido",
    invalid_link_body: "El enlace está incompleto o se modificó. Ábrelo de nuevo desde el mensaje o el sitio que lo envió.",
    back_to_site: "Vuelve al sitio que te envió aquí.",
    loading: "Cargando…",
    cam_denied_heading: "El acceso a la cámara está bloqueado",
    cam_denied_body: "Permite la cámara para este sitio: toca el icono de cámara o candado en la barra de direcciones, elige Permitir y vuelve a intentarlo.",
    cam_missing_heading: "No se encontró ninguna cámara",
    cam_missing_body: "Conecta una cámara o abre este enlace en un teléfono u ordenador que tenga una.",
    cam_in_use_heading: "La cámara está ocupada",
    cam_in_use_body: "Otra aplicación o pestaña usa la cámara. Ciérrala (videollamadas, otras pestañas) y vuelve a intentarlo.",
    cam_insecure_heading: "Esta página necesita una conexión segura",
    cam_insecure_body: "Los navegadores solo permiten la cámara en páginas seguras (https). Abre la dirección https de esta página.",
    cam_in_app_heading: "Abre esta página en tu navegador",
    cam_in_app_body: "La aplicación en la que abriste el enlace bloquea la cámara. Usa su menú para abrirlo en Safari o Chrome, o copia el enlace y pégalo allí.",
    cam_unsupported_heading: "Este navegador no puede usar la cámara",
    cam_unsupported_body: "Abre este enlace en una versión actual de Chrome, Safari, Firefox o Edge.",
    retry_camera: "Probar la cámara de nuevo",
    copy_link: "Copiar enlace",
    link_copied: "Enlace copiado",
    demo_title: "Demo de iLive",
    demo_intro: "Prueba la verificación tal como la verán tus usuarios: inicia una sesión directa, sigue las indicaciones y revisa el resultado completo que devuelve la API.",
    demo_mode: "Modo",
    demo_active: "Activo: sigue unas indicaciones",
    demo_passive: "Pasivo: quédate quieto unos segundos",
    demo_start: "Iniciar una sesión de prueba",
    demo_creating: "Creando la sesión…",
    demo_error: "No se pudo iniciar la sesión",
    demo_results: "Resultado de la API",
    demo_loading: "Cargando el resultado…",
    demo_verdict: "Veredicto",
    demo_confidence: "Confianza",
    demo_layers: "Puntuación por capa",
    demo_challenges: "Retos",
    demo_reasons: "Motivos",
    demo_none: "ninguno",
    demo_photo: "Foto",
    demo_no_photo: "Sin foto: solo las sesiones superadas tienen una.",
    demo_photo_missing: "La sesión se superó, pero el servidor no tiene foto de ella.",
    demo_again: "Iniciar otra sesión",
    demo_integrate: "Integrar iLive",
    demo_openapi: "Documento OpenAPI",
    demo_readme: "Los pasos de integración están en el README, sección «The API in brief».",
    demo_met: "cumplido",
    demo_not_met: "no cumplido",
    nf_heading: "Página no encontrada",
    nf_body: "No hay nada en esta dirección.",
    nf_home: "Ir a la página de inicio",
    codes: &ES_PHRASES,
};

static ES_PHRASES: Phrases = Phrases {
    blink: "Parpadea",
    turn_left: "Gira la cabeza a la izquierda",
    turn_right: "Gira la cabeza a la derecha",
    nod: "Asiente con la cabeza",
    smile: "Sonríe",
    mouth_open: "Abre la boca",
    no_face: "No vemos tu cara",
    multiple_faces: "Solo una persona, por favor",
    too_far: "Acércate",
    too_close: "Aléjate un poco",
    off_center: "Centra tu cara en el óvalo",
    too_dark: "Está muy oscuro: busca más luz",
    too_bright: "Demasiada luz: evita el contraluz",
    blurry: "Quédate quieto: la imagen está borrosa",
    not_frontal: "Mira directamente a la cámara",
    adv_light: "Busca mejor luz: ponte frente a una ventana o una lámpara.",
    adv_glare: "Evita luces fuertes detrás de ti o apuntando a la cámara.",
    adv_challenge: "Sigue cada indicación en cuanto aparezca.",
    adv_motion:
        "Usa tu propia cámara en directo y mueve la cabeza con naturalidad cuando se te pida.",
    adv_one_person: "Asegúrate de que solo tú estás a la vista durante toda la comprobación.",
    adv_framing: "Mantén la cara dentro del óvalo, a un brazo de distancia.",
    adv_blur: "Sujeta el dispositivo con firmeza y limpia la lente de la cámara.",
    adv_cancelled: "Vuelve a empezar cuando estés listo.",
    adv_general: "Usa buena luz, mira a la cámara y sigue las indicaciones.",
};

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
            Lang::De.strings().advice("some_new_code"),
            DE_PHRASES.adv_general
        );
        assert!(Lang::En.strings().face(FaceStatus::Ok).is_none());
    }
}
