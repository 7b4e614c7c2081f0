using System.Collections.Generic;
using ModelDsl.Shapes;

namespace ModelDsl.Plan
{
    // Layer kernels of the sequence layers: embedding, positional, lstm and the core of attention (the conventions are
    // those of LayerKernels.cs). attention's projections are not here: in_proj and out_proj are GemmKernels, their
    // biases elementwise loops, so out_proj's bias fuses with the dropout and residual add after it.

    /// <summary><c>y[i, :] = table[ids[i], :]</c> for the <see cref="Count"/> ids of an i32 input of any shape.</summary>
    public sealed class EmbeddingKernel : Kernel
    {
        public EmbeddingKernel(string name, IReadOnlyList<Origin> origins, Dim count, long num, long dim, PlanBuffer ids, PlanBuffer table, PlanBuffer output)
            : base(name, origins)
        {
            Count = count;
            Num = num;
            Dim = dim;
            Ids = ids;
            Table = table;
            Output = output;
        }

        public Dim Count { get; }
        public long Num { get; }
        public long Dim { get; }
        public PlanBuffer Ids { get; }
        public PlanBuffer Table { get; }
        public PlanBuffer Output { get; }
    }

    /// <summary>
    /// <c>dTable[ids[i], :] += dy[i, :]</c> (scatter-add). Assigning clears the table gradient first; a table tied to a
    /// dense layer accumulates onto what that layer's backward wrote. Ids equal to <see cref="PaddingIndex"/> add nothing.
    /// </summary>
    public sealed class EmbeddingBackwardKernel : Kernel
    {
        public EmbeddingBackwardKernel(string name, IReadOnlyList<Origin> origins, Dim count, long num, long dim, long paddingIndex, PlanBuffer ids, PlanBuffer outputGradient, GradientOutput tableGradient)
            : base(name, origins)
        {
            Count = count;
            Num = num;
            Dim = dim;
            PaddingIndex = paddingIndex;
            Ids = ids;
            OutputGradient = outputGradient;
            TableGradient = tableGradient;
        }

        public Dim Count { get; }
        public long Num { get; }
        public long Dim { get; }

        /// <summary><c>padding_idx</c> in [0, Num), or -1 for none.</summary>
        public long PaddingIndex { get; }
        public PlanBuffer Ids { get; }
        public PlanBuffer OutputGradient { get; }
        public GradientOutput TableGradient { get; }
    }

    /// <summary>
    /// <c>y[b, t] = x[b, t] + table[t]</c> on [Batch, Steps, Dim] with a [MaxLength, Dim] table; Steps ≤ MaxLength is
    /// checked at entry (<see cref="SizeLimit"/>).
    /// </summary>
    public sealed class PositionalKernel : Kernel
    {
        public PositionalKernel(string name, IReadOnlyList<Origin> origins, Dim batch, Dim steps, long maxLength, long dim, PlanBuffer input, PlanBuffer table, PlanBuffer output)
            : base(name, origins)
        {
            Batch = batch;
            Steps = steps;
            MaxLength = maxLength;
            Dim = dim;
            Input = input;
            Table = table;
            Output = output;
        }

        public Dim Batch { get; }
        public Dim Steps { get; }
        public long MaxLength { get; }
        public long Dim { get; }
        public PlanBuffer Input { get; }
        public PlanBuffer Table { get; }
        public PlanBuffer Output { get; }
    }

    /// <summary><c>dx (+)= dy</c> and <c>dTable[t] (+)= Σ_b dy[b, t]</c> (rows past Steps get zero).</summary>
    public sealed class PositionalBackwardKernel : Kernel
    {
        public PositionalBackwardKernel(string name, IReadOnlyList<Origin> origins, Dim batch, Dim steps, long maxLength, long dim, PlanBuffer outputGradient, GradientOutput? inputGradient, GradientOutput tableGradient)
            : base(name, origins)
        {
            Batch = batch;
            Steps = steps;
            MaxLength = maxLength;
            Dim = dim;
            OutputGradient = outputGradient;
            InputGradient = inputGradient;
            TableGradient = tableGradient;
        }

        public Dim Batch { get; }
        public Dim Steps { get; }
        public long MaxLength { get; }
        public long Dim { get; }
        public PlanBuffer OutputGradient { get; }
        public GradientOutput? InputGradient { get; }
        public GradientOutput TableGradient { get; }
    }

    /// <summary>The reverse direction's parameters of a bidirectional lstm or gru (PyTorch's <c>*_reverse</c>).</summary>
    public sealed record ReverseParameters(PlanBuffer WeightIh, PlanBuffer WeightHh, PlanBuffer BiasIh, PlanBuffer BiasHh);

    /// <summary>The reverse direction's weights (the backward reads them) and its four parameter gradients.</summary>
    public sealed record ReverseGradients(PlanBuffer WeightIh, PlanBuffer WeightHh,
        GradientOutput WeightIhGradient, GradientOutput WeightHhGradient, GradientOutput BiasIhGradient, GradientOutput BiasHhGradient);

    /// <summary>What the lstm and gru kernels, forward and backward, all carry: the bidirectional calls read them alike (Ops/RecurrentRule.cs).</summary>
    public interface IRecurrentLayer
    {
        Dim Batch { get; }
        Dim Steps { get; }
        long InputSize { get; }
        long Hidden { get; }
        PlanBuffer Input { get; }
        PlanBuffer WeightIh { get; }
        PlanBuffer WeightHh { get; }
        PlanBuffer Workspace { get; }
    }

    /// <summary>An lstm or gru forward kernel.</summary>
    public interface IRecurrentKernel : IRecurrentLayer
    {
        PlanBuffer BiasIh { get; }
        PlanBuffer BiasHh { get; }
        PlanBuffer HiddenStates { get; }
        PlanBuffer? LastHidden { get; }
        ReverseParameters? Reverse { get; }
    }

    /// <summary>An lstm or gru backward kernel.</summary>
    public interface IRecurrentBackwardKernel : IRecurrentLayer
    {
        PlanBuffer? HiddenStatesGradient { get; }
        PlanBuffer? LastHiddenGradient { get; }
        GradientOutput? InputGradient { get; }
        GradientOutput WeightIhGradient { get; }
        GradientOutput WeightHhGradient { get; }
        GradientOutput BiasIhGradient { get; }
        GradientOutput BiasHhGradient { get; }
        ReverseGradients? Reverse { get; }
    }

    /// <summary>
    /// An LSTM over [Batch, Steps, InputSize] (PyTorch's gate order i, f, g, o; zero initial state). Writes every step's
    /// hidden state to <see cref="HiddenStates"/> [B, T, H] (the output with return_sequences, saved state otherwise) and,
    /// when the output is the last state, <see cref="LastHidden"/> [B, H]. The workspace keeps the activated gates and
    /// the cells for the backward.
    /// </summary>
    public sealed class LstmKernel : Kernel, IRecurrentKernel
    {
        public LstmKernel(string name, IReadOnlyList<Origin> origins, Dim batch, Dim steps, long inputSize, long hidden,
            PlanBuffer input, PlanBuffer weightIh, PlanBuffer weightHh, PlanBuffer biasIh, PlanBuffer biasHh,
            PlanBuffer hiddenStates, PlanBuffer? lastHidden, PlanBuffer workspace, ReverseParameters? reverse = null)
            : base(name, origins)
        {
            Reverse = reverse;
            Batch = batch;
            Steps = steps;
            InputSize = inputSize;
            Hidden = hidden;
            Input = input;
            WeightIh = weightIh;
            WeightHh = weightHh;
            BiasIh = biasIh;
            BiasHh = biasHh;
            HiddenStates = hiddenStates;
            LastHidden = lastHidden;
            Workspace = workspace;
        }

        public Dim Batch { get; }
        public Dim Steps { get; }
        public long InputSize { get; }
        public long Hidden { get; }
        public PlanBuffer Input { get; }
        public PlanBuffer WeightIh { get; }
        public PlanBuffer WeightHh { get; }
        public PlanBuffer BiasIh { get; }
        public PlanBuffer BiasHh { get; }
        public PlanBuffer HiddenStates { get; }
        public PlanBuffer? LastHidden { get; }
        public PlanBuffer Workspace { get; }

        /// <summary>
        /// bidirectional=true: the reverse direction's parameters (null for one direction). <see cref="HiddenStates"/> is then
        /// [B, T, 2H] and <see cref="LastHidden"/> [B, 2H], both directions side by side, and the workspace holds both
        /// directions' state (Runtime/Cpu/Layers/Sequence.cs, BidirectionalLayout).
        /// </summary>
        public ReverseParameters? Reverse { get; }
    }

    /// <summary>
    /// Backpropagation through time from the forward's input, hidden states and workspace (gates and cells, which it
    /// overwrites with their gradients). The output gradient is <see cref="HiddenStatesGradient"/> (return_sequences)
    /// or <see cref="LastHiddenGradient"/>. The two bias gradients are equal.
    /// </summary>
    public sealed class LstmBackwardKernel : Kernel, IRecurrentBackwardKernel
    {
        public LstmBackwardKernel(string name, IReadOnlyList<Origin> origins, Dim batch, Dim steps, long inputSize, long hidden,
            PlanBuffer input, PlanBuffer weightIh, PlanBuffer weightHh, PlanBuffer hiddenStates, PlanBuffer workspace,
            PlanBuffer? hiddenStatesGradient, PlanBuffer? lastHiddenGradient,
            GradientOutput? inputGradient, GradientOutput weightIhGradient, GradientOutput weightHhGradient, GradientOutput biasIhGradient, GradientOutput biasHhGradient,
            ReverseGradients? reverse = null)
            : base(name, origins)
        {
            Reverse = reverse;
            Batch = batch;
            Steps = steps;
            InputSize = inputSize;
            Hidden = hidden;
            Input = input;
            WeightIh = weightIh;
            WeightHh = weightHh;
            HiddenStates = hiddenStates;
            Workspace = workspace;
            HiddenStatesGradient = hiddenStatesGradient;
            LastHiddenGradient = lastHiddenGradient;
            InputGradient = inputGradient;
            WeightIhGradient = weightIhGradient;
            WeightHhGradient = weightHhGradient;
            BiasIhGradient = biasIhGradient;
            BiasHhGradient = biasHhGradient;
        }

        public Dim Batch { get; }
        public Dim Steps { get; }
        public long InputSize { get; }
        public long Hidden { get; }
        public PlanBuffer Input { get; }
        public PlanBuffer WeightIh { get; }
        public PlanBuffer WeightHh { get; }
        public PlanBuffer HiddenStates { get; }
        public PlanBuffer Workspace { get; }
        public PlanBuffer? HiddenStatesGradient { get; }
        public PlanBuffer? LastHiddenGradient { get; }
        public GradientOutput? InputGradient { get; }
        public GradientOutput WeightIhGradient { get; }
        public GradientOutput WeightHhGradient { get; }
        public GradientOutput BiasIhGradient { get; }
        public GradientOutput BiasHhGradient { get; }

        /// <summary>bidirectional=true: the reverse direction's weights and parameter gradients (null for one direction).</summary>
        public ReverseGradients? Reverse { get; }
    }

    /// <summary>
    /// A GRU over [Batch, Steps, InputSize] (PyTorch's gate order r, z, n; zero initial state). Writes every step's
    /// hidden state to <see cref="HiddenStates"/> [B, T, H] (the output with return_sequences, saved state otherwise) and,
    /// when the output is the last state, <see cref="LastHidden"/> [B, H]. The workspace keeps the activated gates and
    /// the recurrent n pre-activation for the backward.
    /// </summary>
    public sealed class GruKernel : Kernel, IRecurrentKernel
    {
        public GruKernel(string name, IReadOnlyList<Origin> origins, Dim batch, Dim steps, long inputSize, long hidden,
            PlanBuffer input, PlanBuffer weightIh, PlanBuffer weightHh, PlanBuffer biasIh, PlanBuffer biasHh,
            PlanBuffer hiddenStates, PlanBuffer? lastHidden, PlanBuffer workspace, ReverseParameters? reverse = null)
            : base(name, origins)
        {
            Reverse = reverse;
            Batch = batch;
            Steps = steps;
            InputSize = inputSize;
            Hidden = hidden;
            Input = input;
            WeightIh = weightIh;
            WeightHh = weightHh;
            BiasIh = biasIh;
            BiasHh = biasHh;
            HiddenStates = hiddenStates;
            LastHidden = lastHidden;
            Workspace = workspace;
        }

        public Dim Batch { get; }
        public Dim Steps { get; }
        public long InputSize { get; }
        public long Hidden { get; }
        public PlanBuffer Input { get; }
        public PlanBuffer WeightIh { get; }
        public PlanBuffer WeightHh { get; }
        public PlanBuffer BiasIh { get; }
        public PlanBuffer BiasHh { get; }
        public PlanBuffer HiddenStates { get; }
        public PlanBuffer? LastHidden { get; }
        public PlanBuffer Workspace { get; }

        /// <summary>
        /// bidirectional=true: the reverse direction's parameters (null for one direction). <see cref="HiddenStates"/> is then
        /// [B, T, 2H] and <see cref="LastHidden"/> [B, 2H], both directions side by side, and the workspace holds both
        /// directions' state (Runtime/Cpu/Layers/Sequence.cs, BidirectionalLayout).
        /// </summary>
        public ReverseParameters? Reverse { get; }
    }

    /// <summary>
    /// Backpropagation through time from the forward's input, hidden states and workspace (the gates, which it
    /// overwrites with their gradients). The output gradient is <see cref="HiddenStatesGradient"/> (return_sequences)
    /// or <see cref="LastHiddenGradient"/>.
    /// </summary>
    public sealed class GruBackwardKernel : Kernel, IRecurrentBackwardKernel
    {
        public GruBackwardKernel(string name, IReadOnlyList<Origin> origins, Dim batch, Dim steps, long inputSize, long hidden,
            PlanBuffer input, PlanBuffer weightIh, PlanBuffer weightHh, PlanBuffer hiddenStates, PlanBuffer workspace,
            PlanBuffer? hiddenStatesGradient, PlanBuffer? lastHiddenGradient,
            GradientOutput? inputGradient, GradientOutput weightIhGradient, GradientOutput weightHhGradient, GradientOutput biasIhGradient, GradientOutput biasHhGradient,
            ReverseGradients? reverse = null)
            : base(name, origins)
        {
            Reverse = reverse;
            Batch = batch;
            Steps = steps;
            InputSize = inputSize;
            Hidden = hidden;
            Input = input;
            WeightIh = weightIh;
            WeightHh = weightHh;
            HiddenStates = hiddenStates;
            Workspace = workspace;
            HiddenStatesGradient = hiddenStatesGradient;
            LastHiddenGradient = lastHiddenGradient;
            InputGradient = inputGradient;
            WeightIhGradient = weightIhGradient;
            WeightHhGradient = weightHhGradient;
            BiasIhGradient = biasIhGradient;
            BiasHhGradient = biasHhGradient;
        }

        public Dim Batch { get; }
        public Dim Steps { get; }
        public long InputSize { get; }
        public long Hidden { get; }
        public PlanBuffer Input { get; }
        public PlanBuffer WeightIh { get; }
        public PlanBuffer WeightHh { get; }
        public PlanBuffer HiddenStates { get; }
        public PlanBuffer Workspace { get; }
        public PlanBuffer? HiddenStatesGradient { get; }
        public PlanBuffer? LastHiddenGradient { get; }
        public GradientOutput? InputGradient { get; }
        public GradientOutput WeightIhGradient { get; }
        public GradientOutput WeightHhGradient { get; }
        public GradientOutput BiasIhGradient { get; }
        public GradientOutput BiasHhGradient { get; }

        /// <summary>bidirectional=true: the reverse direction's weights and parameter gradients (null for one direction).</summary>
        public ReverseGradients? Reverse { get; }
    }

    /// <summary>
    /// Scaled dot-product attention on already projected q, k, v, read in place from in_proj's fused output
    /// <see cref="Qkv"/> [B, T, 3d] (q at column 0, k at d, v at 2d; row stride 3d). Per batch element and head:
    /// <c>P = softmax(QKᵀ/√dh + key padding bias, causal mask)</c>, saved in the workspace for the backward, and
    /// <c>out = P·V</c> into <see cref="Output"/> [B, T, d] (heads side by side, ready for out_proj). <see cref="Mask"/>:
    /// the key padding mask [B, T] (f32 or i32, 1 = real token), or null. <see cref="TensorCores"/>: the GPU runs it on
    /// tensor cores (flashattention.cuh: heads of 64, BF16 products), chosen where <see cref="UsesTensorCores"/> says.
    /// </summary>
    public sealed class AttentionKernel : Kernel
    {
        public AttentionKernel(string name, IReadOnlyList<Origin> origins, Dim batch, Dim steps, long heads, long headDim, bool causal, PlanBuffer qkv, PlanBuffer output, PlanBuffer workspace,
            PlanBuffer? mask = null, AttentionDropout? dropout = null, bool tensorCores = false)
            : base(name, origins)
        {
            TensorCores = tensorCores;
            Mask = mask;
            Dropout = dropout;
            Batch = batch;
            Steps = steps;
            Heads = heads;
            HeadDim = headDim;
            Causal = causal;
            Qkv = qkv;
            Output = output;
            Workspace = workspace;
        }

        public Dim Batch { get; }
        public Dim Steps { get; }
        public long Heads { get; }
        public long HeadDim { get; }
        public bool Causal { get; }

        /// <summary>d = Heads·HeadDim: the model dimension, and the column offset of k (v at 2d) in <see cref="Qkv"/>.</summary>
        public long ModelDim => Heads * HeadDim;

        public PlanBuffer Qkv { get; }
        public PlanBuffer Output { get; }
        public PlanBuffer Workspace { get; }
        public PlanBuffer? Mask { get; }

        /// <summary>Dropout on the probabilities in training (<c>attention(dropout=p)</c>), or null.</summary>
        public AttentionDropout? Dropout { get; }

        /// <summary>The GPU launches md_flashattention_* (mma.sync, BF16 products, FP32 accumulation) instead of md_attention_*.</summary>
        public bool TensorCores { get; }

        /// <summary>
        /// Whether attention runs on tensor cores on the GPU: heads of exactly 64 columns (the kernels' one width), no
        /// dropout on the probabilities (the tensor-core kernels have none), in a model whose precision is BF16, the one
        /// mode whose tolerance covers BF16 products (docs/cuda.md "Flash attention"). FP32 and TF32 models keep the FP32
        /// kernels, which match the CPU reference to rounding.
        /// </summary>
        public static bool UsesTensorCores(long headDim, bool dropout, bool bf16) => headDim == 64 && !dropout && bf16;
    }

    /// <summary>
    /// attention(dropout=p): the probability and the dropout slot whose seed (<c>Dropout.Seed(model seed, step, slot,
    /// stream)</c>) draws the mask, in the forward and again in the backward.
    /// </summary>
    public sealed class AttentionDropout
    {
        public AttentionDropout(float probability, int slot)
        {
            Probability = probability;
            Slot = slot;
        }

        public float Probability { get; }
        public int Slot { get; }
    }

    /// <summary>
    /// From the saved P (in the workspace) and q, k, v: <c>dV = Pᵀ·dOut</c>, <c>dS = P ⊙ (dP − rowsum(dP ⊙ P))</c> with
    /// <c>dP = dOut·Vᵀ</c>, <c>dQ = dS·K/√dh</c>, <c>dK = dSᵀ·Q/√dh</c>, written to <see cref="QkvGradient"/> in qkv's layout.
    /// With dropout (mask M, scale 1/(1 − p)): <c>dV = P̃ᵀ·dOut</c> and <c>dP = (dOut·Vᵀ) ⊙ M/(1 − p)</c>.
    /// </summary>
    public sealed class AttentionBackwardKernel : Kernel
    {
        public AttentionBackwardKernel(string name, IReadOnlyList<Origin> origins, Dim batch, Dim steps, long heads, long headDim, bool causal,
            PlanBuffer qkv, PlanBuffer workspace, PlanBuffer outputGradient, GradientOutput qkvGradient, PlanBuffer? mask = null, AttentionDropout? dropout = null,
            PlanBuffer? output = null, bool tensorCores = false)
            : base(name, origins)
        {
            Output = output;
            TensorCores = tensorCores;
            Mask = mask;
            Dropout = dropout;
            Batch = batch;
            Steps = steps;
            Heads = heads;
            HeadDim = headDim;
            Causal = causal;
            Qkv = qkv;
            Workspace = workspace;
            OutputGradient = outputGradient;
            QkvGradient = qkvGradient;
        }

        public Dim Batch { get; }
        public Dim Steps { get; }
        public long Heads { get; }
        public long HeadDim { get; }
        public bool Causal { get; }
        public long ModelDim => Heads * HeadDim;
        public PlanBuffer Qkv { get; }
        public PlanBuffer Workspace { get; }
        public PlanBuffer OutputGradient { get; }
        public GradientOutput QkvGradient { get; }

        /// <summary>The forward's key padding mask (no gradient): the GPU's backward recomputes P with it.</summary>
        public PlanBuffer? Mask { get; }

        /// <summary>The forward's dropout (its mask drawn again from the same seed), or null.</summary>
        public AttentionDropout? Dropout { get; }

        /// <summary>The forward's output: the tensor-core backward's D = rowsum(dOut ⊙ out) reads it.</summary>
        public PlanBuffer? Output { get; }

        /// <summary>As the forward's <see cref="AttentionKernel.TensorCores"/>.</summary>
        public bool TensorCores { get; }
    }
}
