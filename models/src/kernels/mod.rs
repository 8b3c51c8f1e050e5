//! Fast CPU kernels for the Blaze-style networks (BlazeFace, FaceMesh), the anti-spoof
//! networks and the face descriptor, run on plain NHWC `f32` buffers (channels innermost, as XNNPACK keeps them) between
//! the candle modules' NCHW input and output.
//!
//! - [`gemm`]: `C = act(C + A·B)`, the pointwise (1×1) convolution of a whole layer as one
//!   matrix product (pixels × channels), with the residual, bias and activation fused: `C`
//!   holds the skip connection plus the bias when it starts.
//! - [`depthwise`]: the k×k depthwise convolution with TF padding, 8 channels at a time with
//!   their weights in registers.
//! - [`block`]: [`block::FusedBlock`], one residual block (depthwise → pointwise → + skip →
//!   activation) on those two kernels, with no allocation (buffers come from a [`Workspace`]).
//!
//! - [`stem`]: a network's first, dense convolution, as one GEMM over gathered patches.
//! - [`mobile`]: MobileFaceNet's and MiniFASNet's inverted-residual blocks (PReLU, squeeze-and-
//!   excitation, the global depthwise head) on the same kernels.
//! - [`bridge`]: the candle layers' weights in the kernels' layout; a chain of fused blocks run
//!   on a tensor.
//!
//! Every kernel has a portable path and an x86-64 AVX2 + FMA path, chosen at run time
//! ([`Isa::detect`]); the tests run both against candle's reference modules.

pub mod block;
pub mod bridge;
pub mod depthwise;
pub mod gemm;
pub mod mobile;
pub mod stem;

/// The instruction set a kernel runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// Plain Rust (what the compiler vectorises for the build's baseline: SSE2 on x86-64, NEON
    /// on aarch64).
    Portable,
    /// x86-64 AVX2 with FMA: 8-wide vectors and fused multiply-adds.
    Avx2,
}

impl Isa {
    /// The best the running CPU supports.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return Isa::Avx2;
        }
        Isa::Portable
    }

    /// Every instruction set this CPU can run (for the tests: each is checked).
    pub fn available() -> Vec<Isa> {
        let mut v = vec![Isa::Portable];
        if Isa::detect() == Isa::Avx2 {
            v.push(Isa::Avx2);
        }
        v
    }
}

/// The CPU's relevant features and the kernels chosen, in words (for the bench's header).
pub fn features() -> String {
    let mut f: Vec<&str> = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") {
            f.push("avx2");
        }
        if std::arch::is_x86_feature_detected!("fma") {
            f.push("fma");
        }
        if std::arch::is_x86_feature_detected!("avx512f") {
            f.push("avx512f");
        }
    }
    #[cfg(target_arch = "aarch64")]
    f.push("neon");
    format!("{} → kernels {:?}", f.join(" "), Isa::detect())
}

/// Reusable buffers for one forward pass, so that layers allocate nothing once warm: two
/// ping-pong activations, the depthwise output (also the first layer's padded image) and
/// the first layer's patches.
#[derive(Debug, Default)]
pub struct Workspace {
    pub a: Vec<f32>,
    pub b: Vec<f32>,
    pub dw: Vec<f32>,
    pub cols: Vec<f32>,
}

thread_local! {
    static WORKSPACE: std::cell::RefCell<Workspace> = std::cell::RefCell::default();
}

/// Runs `f` with this thread's workspace (every inference thread keeps one, grown to the
/// largest network it ran).
pub fn with_workspace<T>(f: impl FnOnce(&mut Workspace) -> T) -> T {
    WORKSPACE.with(|w| match w.try_borrow_mut() {
        Ok(mut ws) => f(&mut ws),
        // Re-entered (a network run inside another's forward): a fresh one, once.
        Err(_) => f(&mut Workspace::default()),
    })
}

/// Resizes `v` to `n` values without shrinking its capacity (contents unspecified).
pub(crate) fn ensure_len(v: &mut Vec<f32>, n: usize) {
    if v.len() < n {
        v.resize(n, 0.0);
    }
    v.truncate(n);
}
