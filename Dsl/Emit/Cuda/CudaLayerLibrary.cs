using System;
using System.IO;
using System.Text;

namespace ModelDsl.Emit.Cuda
{
    /// <summary>The layer kernel families of <see cref="CudaLayerLibrary"/>, one <c>.cuh</c> file each.</summary>
    public enum LayerFamily
    {
        /// <summary>BF16 storage and conversions (bf16.cuh). First, so a module holding every family declares the type before the families that use it.</summary>
        Bf16,
        LayerNorm,
        Softmax,
        Embedding,
        Positional,
        Pool2d,
        GlobalPool2d,
        Permute,
        Narrow,
        Reduce,
        Conv2d,
        Lstm,
        Gru,
        Attention,
        Concat,
        Sequence,
        BatchNorm,
        /// <summary>Attention on tensor cores (mma.sync, BF16 products, FP32 accumulation) for heads of 64: flashattention.cuh.</summary>
        FlashAttention,
    }

    /// <summary>
    /// Hand-written CUDA C for the layer ops: the files <c>Cuda/Kernels/&lt;family&gt;.cuh</c>, embedded in this assembly
    /// (so the generator reads them inside the compiler and from the package), each pasted after
    /// <see cref="CudaEmitter.PreludeText"/> into the .cu of a model that uses the family (the kernels use the prelude's
    /// <c>md_sigmoid</c>, <c>md_tanh</c>, <c>md_warp_sum</c>, <c>md_warp_max</c> and <c>INFINITY</c>). bf16.cuh comes first in
    /// every module: it declares <c>md_act</c>, the activation storage type (float, or <c>md_bf16</c> when the module is
    /// compiled with <c>MD_ACT_BF16</c> defined), with <c>md_load</c> and <c>md_act_from</c>. Each other family's text needs
    /// only the prelude and bf16.cuh, and any set of families can share one translation unit (every name carries its
    /// family's prefix).
    /// The same files are embedded in ModelDsl.Cuda, whose launchers (<c>ModelDsl.Cuda.Layers</c>) check every launch
    /// against the kernel signatures parsed from them.
    /// </summary>
    /// <remarks>
    /// <para>
    /// The reference semantics and layouts are the CPU kernels in <c>ModelDsl.Runtime.Cpu.Layers</c>; the tests in
    /// tests/Cuda.Tests/Layers compare every kernel with them on the CPU emulator. Conventions (docs/cuda.md):
    /// </para>
    /// <list type="bullet">
    /// <item>Every kernel is <c>extern "C" __global__ void __launch_bounds__(256) md_&lt;family&gt;_&lt;what&gt;</c>, with
    /// a header comment giving what it computes (shapes), its launch shape and why it is shaped that way.</item>
    /// <item>Sizes are int arguments, so one compiled module serves every batch size. Tensors are row-major:
    /// activations <c>md_act</c>, gradients and statistics float (ids and pool indices: int).</item>
    /// <item><c>int accumulate</c> (0 = write, 1 = add) wherever the CPU kernel has an accumulate flag; an optional
    /// output the CPU kernel takes as an empty span is a pointer that may be null here.</item>
    /// <item>Reductions run in a fixed order (warp shuffles, shared-memory trees), so results are bitwise repeatable;
    /// the one exception is <c>md_embedding_backward</c>'s float atomics.</item>
    /// <item>Plain CUDA C: no headers and no dynamic shared memory, so NVRTC and the emulator compile the same text;
    /// static shared memory stays under the 48 KiB a kernel may declare.</item>
    /// </list>
    /// </remarks>
    public static class CudaLayerLibrary
    {
        private static readonly string?[] Sources = new string?[Enum.GetValues(typeof(LayerFamily)).Length];

        /// <summary>The CUDA C of <paramref name="family"/>'s kernels (device helpers, then kernels), as its .cuh file holds it.</summary>
        public static string Source(LayerFamily family)
        {
            if ((int)family < 0 || (int)family >= Sources.Length)
                throw new ArgumentOutOfRangeException(nameof(family), family, "unknown layer family");
            // A race loads the same text twice; either copy is the answer.
            return Sources[(int)family] ??= Load(FileName(family));
        }

        /// <summary>The file that holds <paramref name="family"/>'s kernels: <c>Cuda/Kernels/conv2d.cuh</c> is <c>conv2d.cuh</c>.</summary>
        public static string FileName(LayerFamily family) => family.ToString().ToLowerInvariant() + ".cuh";

        /// <summary>The largest head dimension <c>md_attention_*</c> accepts: attention.cuh's <c>MD_ATTENTION_MAX_HEAD_DIM</c> (a test holds them equal).</summary>
        public const int AttentionMaxHeadDim = 128;

        /// <summary>An embedded .cuh (Dsl.csproj names them <c>ModelDsl.Kernels.&lt;file&gt;</c>), with \n line ends whatever the checkout's.</summary>
        private static string Load(string file)
        {
            string resource = "ModelDsl.Kernels." + file;
            using Stream stream = typeof(CudaLayerLibrary).Assembly.GetManifestResourceStream(resource)
                ?? throw new InvalidOperationException($"the layer library file {file} is not embedded in {typeof(CudaLayerLibrary).Assembly.GetName().Name} (resource {resource})");
            using var reader = new StreamReader(stream, Encoding.UTF8);
            return reader.ReadToEnd().Replace("\r\n", "\n");
        }
    }
}
