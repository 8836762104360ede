// The geometry uniforms, pipeline constants and bindings of the convolution kernels: conv.wgsl
// (GPU and CPU-adapter kernels) and conv-subgroups.wgsl (CPU adapters with subgroups).

// conv_forward reads the weight [O, C, KH, KW] as [C, O, KH, KW] with each window rotated 180°:
// the input gradient of a stride-1 conv is this conv of the output gradient.
override FLIP: bool = false;
override HAS_BIAS: bool = false;

// Geometry of a convolution, shared by conv_forward and conv_weight_grad.
struct Conv {
  M: u32,       // output channels: rows of the GEMM
  C: u32,       // input channels
  H: u32,       // input height and width
  W: u32,
  OH: u32,      // output height and width
  OW: u32,
  KH: u32,      // kernel window
  KW: u32,
  SH: u32,      // stride
  SW: u32,
  batch0: u32,  // conv_forward: first image of this dispatch (grids over 65535 images are split)
  images: u32,  // conv_weight_grad: images summed over
  chunk: u32,   // conv_weight_grad: reduction rows per split (a multiple of BK); the _cpu
                // variant: output rows (image, oy) per split
  padH: i32,    // zero padding; negative crops (conv.ts packs the i32 bits as a u32)
  padW: i32,
}

@group(0) @binding(0) var<uniform> conv: Conv;
@group(0) @binding(1) var<storage, read> A: array<f32>;      // the GEMM's left operand
@group(0) @binding(2) var<storage, read> X: array<f32>;      // the image patches are gathered from
@group(0) @binding(3) var<storage, read_write> Out: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

// Kernel = stride: every input pixel (i, j) writes its own KH×KW block of the output, so this is
// one GEMM per image, [O·KH·KW × C] (the weight [C, O·KH·KW], transposed) times x[b] [C × H·W],
// whose rows are scattered into the output blocks.
struct ConvT {
  C: u32,       // input channels: the reduction
  O: u32,       // output channels
  H: u32,       // input height and width
  W: u32,
  KH: u32,      // kernel = stride
  KW: u32,
  batch0: u32,  // first image of this dispatch
}

@group(0) @binding(0) var<uniform> convT: ConvT;
