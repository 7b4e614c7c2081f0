using System;

namespace ModelDsl.Emit.Cuda
{
    /// <summary>The layer kernel families of <see cref="CudaLayerLibrary"/>.</summary>
    public enum LayerFamily
    {
        LayerNorm,
        Softmax,
        Embedding,
        Positional,
        Pool2d,
        Conv2d,
        Lstm,
        Attention,
        Concat,
    }

    /// <summary>
    /// Hand-written CUDA C for the layer ops, one block of source text per family, to be pasted after
    /// <see cref="CudaEmitter.PreludeText"/> into a model's .cu (the kernels use the prelude's <c>md_sigmoid</c>,
    /// <c>md_tanh</c>, <c>md_warp_sum</c>, <c>md_warp_max</c> and <c>INFINITY</c>). Each family's text stands alone, and
    /// any set of families can share one translation unit (every name carries its family's prefix).
    /// </summary>
    /// <remarks>
    /// <para>
    /// The reference semantics and layouts are the CPU kernels in <c>ModelDsl.Runtime.Cpu.Layers</c>; the tests in
    /// tests/Cuda.Tests/Layers compare every kernel with them on the CPU emulator. Conventions:
    /// </para>
    /// <list type="bullet">
    /// <item>Every kernel is <c>extern "C" __global__ void __launch_bounds__(256) md_&lt;family&gt;_&lt;what&gt;</c>, with
    /// a header comment giving what it computes (shapes), its launch shape and why it is shaped that way.</item>
    /// <item>Sizes are int arguments, so one compiled module serves every batch size. Tensors are row-major float
    /// (ids and pool indices: int).</item>
    /// <item><c>int accumulate</c> (0 = write, 1 = add) wherever the CPU kernel has an accumulate flag; an optional
    /// output the CPU kernel takes as an empty span is a pointer that may be null here.</item>
    /// <item>Reductions run in a fixed order (warp shuffles, shared-memory trees), so results are bitwise repeatable;
    /// the one exception is <c>md_embedding_backward</c>'s float atomics.</item>
    /// <item>Plain CUDA C: no headers and no dynamic shared memory, so NVRTC and the emulator compile the same text;
    /// static shared memory stays under the 48 KiB a kernel may declare.</item>
    /// </list>
    /// </remarks>
    public static partial class CudaLayerLibrary
    {
        /// <summary>The CUDA C of <paramref name="family"/>'s kernels (device helpers, then kernels).</summary>
        public static string Source(LayerFamily family)
        {
            switch (family)
            {
                case LayerFamily.LayerNorm: return LayerNormSource;
                case LayerFamily.Softmax: return SoftmaxSource;
                case LayerFamily.Embedding: return EmbeddingSource;
                case LayerFamily.Positional: return PositionalSource;
                case LayerFamily.Pool2d: return Pool2dSource;
                case LayerFamily.Conv2d: return Conv2dSource;
                case LayerFamily.Lstm: return LstmSource;
                case LayerFamily.Attention: return AttentionSource;
                case LayerFamily.Concat: return ConcatSource;
                default: throw new ArgumentOutOfRangeException(nameof(family), family, "unknown layer family");
            }
        }

        /// <summary>The largest head dimension <c>md_attention_*</c> accepts (its launcher must check dh ≤ this).</summary>
        public const int AttentionMaxHeadDim = 128;
    }
}
