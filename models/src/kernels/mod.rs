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
//! - [`stem`]: a dense convolution (a network's first, and the descriptor's), as GEMMs over
//!   gathered patches, a band of output rows at a time.
//! - [`resnet`]: the face descriptor's residual blocks of two dense 3×3 layers, on [`stem`]'s
//!   convolution.
//! - [`mobile`]: MobileFaceNet's and MiniFASNet's inverted-residual blocks (PReLU, squeeze-and-
//!   excitation, the global depthwise head) on the same kernels.
//! - [`bridge`]: the candle layers' weights in the kernels' layout; a chain of fused blocks run
//!   on a tensor.
//!
//! Every kernel has a portable path and an x86-64 AVX2 + FMA path, and the GEMM an AVX-512 one,
//! chosen at run time ([`Isa::detect`]); the tests run each against candle's reference modules.
//! Where the CPU also has AVX-512 BF16, the face descriptor, FaceMesh's backbone and AntiSpoof
//! keep a `bfloat16` copy of their weights and multiply in `bfloat16` with `f32` sums
//! ([`gemm::bf16`]), each tested against its reference runtime with a bound of its own.

pub mod block;
pub mod bridge;
pub mod depthwise;
pub mod gemm;
pub mod mobile;
pub mod resnet;
pub mod stem;

/// The instruction set a kernel runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Isa {
    /// Plain Rust (what the compiler vectorises for the build's baseline: SSE2 on x86-64, NEON
    /// on aarch64).
    Portable,
    /// x86-64 AVX2 with FMA: 8-wide vectors and fused multiply-adds.
    Avx2,
    /// x86-64 AVX-512F (with AVX2 and FMA): the GEMM 16 lanes wide; the other kernels, bound by
    /// memory rather than arithmetic, keep their AVX2 path.
    Avx512,
}

impl Isa {
    /// The best the running CPU supports.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Isa::Avx512;
            }
            return Isa::Avx2;
        }
        Isa::Portable
    }

    /// Every instruction set this CPU can run (for the tests: each is checked).
    pub fn available() -> Vec<Isa> {
        match Isa::detect() {
            Isa::Portable => vec![Isa::Portable],
            Isa::Avx2 => vec![Isa::Portable, Isa::Avx2],
            Isa::Avx512 => vec![Isa::Portable, Isa::Avx2, Isa::Avx512],
        }
    }

    /// Whether the AVX2 + FMA paths may run (every x86-64 CPU with AVX-512F here has both).
    pub fn has_avx2(self) -> bool {
        matches!(self, Isa::Avx2 | Isa::Avx512)
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
        if gemm::bf16::available() {
            f.push("avx512bf16 (bfloat16 GEMM: descriptor, FaceMesh, AntiSpoof)");
        }
    }
    #[cfg(target_arch = "aarch64")]
    f.push("neon");
    format!("{} → kernels {:?}", f.join(" "), Isa::detect())
}

/// Reusable buffers for one forward pass, so that layers allocate nothing once warm: two
/// ping-pong activations, the depthwise output (also a dense layer's padded image), a dense
/// layer's patches, and a third activation for a residual block of two dense layers (its input
/// is the skip until the second layer's output is written).
#[derive(Debug, Default)]
pub struct Workspace {
    pub a: Buffer,
    pub b: Buffer,
    pub dw: Buffer,
    pub cols: Buffer,
    pub third: Buffer,
}

/// A layer's scratch or activation buffer: its length follows the layer, its storage only ever
/// grows. Set back to a length it held before, it writes nothing (a `Vec` truncated and grown
/// again zeroes the difference each time: the layers of a network and the networks of a frame
/// take turns with these buffers, and that zeroing was 8 % of a loaded server's time).
/// Contents past what a layer wrote are unspecified (an earlier layer's values).
#[derive(Debug, Default, Clone)]
pub struct Buffer {
    data: Vec<f32>,
    len: usize,
}

impl Buffer {
    /// Sets the length to `n`, growing the storage (with zeros) only past its largest size.
    pub fn resize(&mut self, n: usize) {
        if self.data.len() < n {
            self.data.resize(n, 0.0);
        }
        self.len = n;
    }

    /// A copy of `x`.
    pub fn set_from(&mut self, x: &[f32]) {
        self.resize(x.len());
        self.copy_from_slice(x);
    }
}

impl std::ops::Deref for Buffer {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.data[..self.len]
    }
}

impl std::ops::DerefMut for Buffer {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.data[..self.len]
    }
}

thread_local! {
    static WORKSPACE: std::cell::RefCell<Workspace> = std::cell::RefCell::default();
}

/// Runs `f` with this thread's workspace (every inference thread keeps one, grown to the
/// largest network it ran).
/// Subnormal values are also read and written as zero meanwhile ([`FlushSubnormals`]).
pub fn with_workspace<T>(f: impl FnOnce(&mut Workspace) -> T) -> T {
    let _flush = FlushSubnormals::start();
    WORKSPACE.with(|w| match w.try_borrow_mut() {
        Ok(mut ws) => f(&mut ws),
        // Re-entered (a network run inside another's forward): a fresh one, once.
        Err(_) => f(&mut Workspace::default()),
    })
}

/// While it lives, this thread's SSE/AVX arithmetic reads and writes subnormal floats (nonzero,
/// below 1.2e-38 in magnitude) as zero: x86-64's MXCSR flush-to-zero and denormals-are-zero
/// bits, restored on drop. An x86 core handles a subnormal operand or result in microcode, a
/// hundred cycles or more: MobileFaceNet's weights and activations have them, and its forward
/// pass took 15.9 ms with them against 7.9 without (docs/performance.md, "Subnormal values").
/// No network's output moves measurably. Elsewhere a no-op.
struct FlushSubnormals {
    #[cfg(target_arch = "x86_64")]
    saved: u32,
}

/// MXCSR's flush-to-zero (bit 15) and denormals-are-zero (bit 6).
#[cfg(target_arch = "x86_64")]
const FTZ_DAZ: u32 = 0x8040;

impl FlushSubnormals {
    fn start() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            let saved = read_mxcsr();
            write_mxcsr(saved | FTZ_DAZ);
            Self { saved }
        }
        #[cfg(not(target_arch = "x86_64"))]
        Self {}
    }
}

impl Drop for FlushSubnormals {
    fn drop(&mut self) {
        #[cfg(target_arch = "x86_64")]
        write_mxcsr(self.saved);
    }
}

#[cfg(target_arch = "x86_64")]
fn read_mxcsr() -> u32 {
    let mut csr = 0u32;
    // SAFETY: `stmxcsr` stores the 32-bit control register at the address given, a local.
    unsafe {
        std::arch::asm!("stmxcsr [{}]", in(reg) &mut csr, options(nostack, preserves_flags));
    }
    csr
}

#[cfg(target_arch = "x86_64")]
fn write_mxcsr(csr: u32) {
    // SAFETY: `ldmxcsr` loads the register from a local; only the rounding and flush modes that
    // `read_mxcsr` returned, or those plus FTZ/DAZ, are ever written.
    unsafe {
        std::arch::asm!("ldmxcsr [{}]", in(reg) &csr, options(nostack, preserves_flags, readonly));
    }
}

/// Sets `v`'s length to `n` values (contents unspecified: see [`Buffer`]).
pub(crate) fn ensure_len(v: &mut Buffer, n: usize) {
    v.resize(n);
}

#[cfg(test)]
mod tests {
    use std::hint::black_box;

    #[test]
    fn a_buffer_grows_back_without_rewriting_its_storage() {
        let mut b = super::Buffer::default();
        b.set_from(&[1.0, 2.0, 3.0, 4.0]);
        b.resize(1);
        assert_eq!(&b[..], &[1.0]);
        // Back to a length it held: the earlier values, not zeros written again.
        b.resize(4);
        assert_eq!(&b[..], &[1.0, 2.0, 3.0, 4.0]);
        // Past its largest size: grown with zeros.
        b.resize(6);
        assert_eq!(&b[4..], &[0.0, 0.0]);
    }

    /// Half the smallest normal float: subnormal unless the flush is on.
    fn halved() -> f32 {
        black_box(f32::MIN_POSITIVE) * black_box(0.5)
    }

    #[test]
    fn subnormals_are_flushed_inside_a_forward_pass_only() {
        assert!(halved().is_subnormal());
        #[cfg(target_arch = "x86_64")]
        assert_eq!(super::with_workspace(|_| halved()), 0.0);
        // Nested (a network run inside another's pass), then after: the mode is restored.
        super::with_workspace(|_| super::with_workspace(|_| ()));
        assert!(halved().is_subnormal());
    }
}
