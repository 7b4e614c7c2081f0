using System.Collections.Generic;
using ModelDsl.Shapes;

namespace ModelDsl.Plan
{
    // Layer kernels: one runtime call each (C#: ModelDsl.Runtime.Cpu.Layers), forward and backward as separate
    // kernels. A backward kernel names every buffer it reads, the saved state its forward left included, and every
    // gradient it writes with whether it adds to it (a value or a tied parameter with several consumers) or assigns.
    // This file: the image layers (conv2d, pooling), the row-wise ones (layer_norm, softmax) and the free view
    // (flatten, reshape). SequenceKernels.cs: embedding, positional, lstm, attention.

    /// <summary>A gradient a backward kernel writes: assigned on the first contribution of the step, added to after that.</summary>
    public sealed class GradientOutput
    {
        public GradientOutput(PlanBuffer buffer, bool accumulate)
        {
            Buffer = buffer;
            Accumulate = accumulate;
        }

        public PlanBuffer Buffer { get; }

        /// <summary>True: add to the buffer; false: overwrite it.</summary>
        public bool Accumulate { get; }
    }

    /// <summary>
    /// The sizes of one conv2d on an NCHW batch: input [Batch, Channels, Height, Width], weight [OutChannels, Channels,
    /// Kernel, Kernel], output [Batch, OutChannels, OutHeight, OutWidth] with <c>OutHeight = ⌊(Height + 2·Padding − Kernel)/Stride⌋ + 1</c>.
    /// </summary>
    public sealed class Conv2dSizes
    {
        public Conv2dSizes(Dim batch, Dim channels, Dim height, Dim width, long outChannels, long kernel, long stride, long padding, Dim outHeight, Dim outWidth)
        {
            Batch = batch;
            Channels = channels;
            Height = height;
            Width = width;
            OutChannels = outChannels;
            Kernel = kernel;
            Stride = stride;
            Padding = padding;
            OutHeight = outHeight;
            OutWidth = outWidth;
        }

        public Dim Batch { get; }
        public Dim Channels { get; }
        public Dim Height { get; }
        public Dim Width { get; }
        public long OutChannels { get; }
        public long Kernel { get; }
        public long Stride { get; }
        public long Padding { get; }
        public Dim OutHeight { get; }
        public Dim OutWidth { get; }
    }

    /// <summary><c>y = conv2d(x, weight) + bias</c> (PyTorch layouts); the workspace holds per-thread column matrices (im2col).</summary>
    public sealed class Conv2dKernel : Kernel
    {
        public Conv2dKernel(string name, IReadOnlyList<Origin> origins, Conv2dSizes sizes, PlanBuffer input, PlanBuffer weight, PlanBuffer? bias, PlanBuffer output, PlanBuffer workspace)
            : base(name, origins)
        {
            Sizes = sizes;
            Input = input;
            Weight = weight;
            Bias = bias;
            Output = output;
            Workspace = workspace;
        }

        public Conv2dSizes Sizes { get; }
        public PlanBuffer Input { get; }
        public PlanBuffer Weight { get; }
        public PlanBuffer? Bias { get; }
        public PlanBuffer Output { get; }

        /// <summary>Scratch only: nothing in it survives to the backward, which unfolds the input again.</summary>
        public PlanBuffer Workspace { get; }
    }

    /// <summary>
    /// Reads the forward's <see cref="Input"/> and <see cref="Weight"/> and the output gradient; writes
    /// <c>dWeight (+)= Σₙ dy[n]·colₙᵀ</c>, <c>dBias (+)= Σ dy</c> and, unless the input needs none, <c>dx (+)= col2im(Wᵀ·dy[n])</c>.
    /// </summary>
    public sealed class Conv2dBackwardKernel : Kernel
    {
        public Conv2dBackwardKernel(string name, IReadOnlyList<Origin> origins, Conv2dSizes sizes, PlanBuffer input, PlanBuffer weight, PlanBuffer outputGradient,
            GradientOutput? inputGradient, GradientOutput weightGradient, GradientOutput? biasGradient, PlanBuffer workspace)
            : base(name, origins)
        {
            Sizes = sizes;
            Input = input;
            Weight = weight;
            OutputGradient = outputGradient;
            InputGradient = inputGradient;
            WeightGradient = weightGradient;
            BiasGradient = biasGradient;
            Workspace = workspace;
        }

        public Conv2dSizes Sizes { get; }
        public PlanBuffer Input { get; }
        public PlanBuffer Weight { get; }
        public PlanBuffer OutputGradient { get; }
        public GradientOutput? InputGradient { get; }
        public GradientOutput WeightGradient { get; }
        public GradientOutput? BiasGradient { get; }
        public PlanBuffer Workspace { get; }
    }

    public enum PoolKind
    {
        Max,
        /// <summary>PyTorch's defaults: padding counts as zeros in the k² divisor.</summary>
        Average,
    }

    /// <summary>The sizes of one max/avg pooling: [Batch, Channels, Height, Width] → [Batch, Channels, OutHeight, OutWidth].</summary>
    public sealed class Pool2dSizes
    {
        public Pool2dSizes(Dim batch, Dim channels, Dim height, Dim width, long kernel, long stride, long padding, Dim outHeight, Dim outWidth)
        {
            Batch = batch;
            Channels = channels;
            Height = height;
            Width = width;
            Kernel = kernel;
            Stride = stride;
            Padding = padding;
            OutHeight = outHeight;
            OutWidth = outWidth;
        }

        public Dim Batch { get; }
        public Dim Channels { get; }
        public Dim Height { get; }
        public Dim Width { get; }
        public long Kernel { get; }
        public long Stride { get; }
        public long Padding { get; }
        public Dim OutHeight { get; }
        public Dim OutWidth { get; }
    }

    /// <summary>Max or average pooling; max pooling saves each window's winner (its index in the input plane) in <see cref="Indices"/>.</summary>
    public sealed class Pool2dKernel : Kernel
    {
        public Pool2dKernel(string name, IReadOnlyList<Origin> origins, PoolKind kind, Pool2dSizes sizes, PlanBuffer input, PlanBuffer output, PlanBuffer? indices)
            : base(name, origins)
        {
            Kind = kind;
            Sizes = sizes;
            Input = input;
            Output = output;
            Indices = indices;
        }

        public PoolKind Kind { get; }
        public Pool2dSizes Sizes { get; }
        public PlanBuffer Input { get; }
        public PlanBuffer Output { get; }

        /// <summary>i32 [N, C, H', W'], saved for the backward (max pooling only).</summary>
        public PlanBuffer? Indices { get; }
    }

    /// <summary>Max: <c>dx (+)= scatter(dy, indices)</c> from the saved winners; average: each dy spread evenly over its window.</summary>
    public sealed class Pool2dBackwardKernel : Kernel
    {
        public Pool2dBackwardKernel(string name, IReadOnlyList<Origin> origins, PoolKind kind, Pool2dSizes sizes, PlanBuffer outputGradient, PlanBuffer? indices, GradientOutput inputGradient)
            : base(name, origins)
        {
            Kind = kind;
            Sizes = sizes;
            OutputGradient = outputGradient;
            Indices = indices;
            InputGradient = inputGradient;
        }

        public PoolKind Kind { get; }
        public Pool2dSizes Sizes { get; }
        public PlanBuffer OutputGradient { get; }
        public PlanBuffer? Indices { get; }
        public GradientOutput InputGradient { get; }
    }

    /// <summary>A copy of a tensor into a permutation of its axes, padded in front to rank 4: the destination's sizes and, per destination axis, the source's stride along it.</summary>
    public sealed class PermuteCopy
    {
        public PermuteCopy(IReadOnlyList<Dim> sizes, IReadOnlyList<Dim> sourceStrides)
        {
            Sizes = sizes;
            SourceStrides = sourceStrides;
        }

        public IReadOnlyList<Dim> Sizes { get; }
        public IReadOnlyList<Dim> SourceStrides { get; }
    }

    /// <summary>
    /// permute: forward <c>y = x</c> with its axes permuted (<see cref="Input"/>, <see cref="Output"/>); backward
    /// <c>dx (+)= dy</c> permuted back (<see cref="OutputGradient"/>, <see cref="InputGradient"/>, the inverse copy).
    /// </summary>
    public sealed class PermuteKernel : Kernel
    {
        public PermuteKernel(string name, IReadOnlyList<Origin> origins, PermuteCopy copy, PlanBuffer source, PlanBuffer? output, GradientOutput? inputGradient)
            : base(name, origins)
        {
            Copy = copy;
            if (inputGradient is null)
            {
                Input = source;
                Output = output;
            }
            else
            {
                OutputGradient = source;
                InputGradient = inputGradient;
            }
        }

        public PermuteCopy Copy { get; }
        public PlanBuffer? Input { get; }
        public PlanBuffer? Output { get; }
        public PlanBuffer? OutputGradient { get; }
        public GradientOutput? InputGradient { get; }
    }

    /// <summary>
    /// global_avg_pool2d / global_max_pool2d: [N, C, H, W] viewed as [Planes = N·C, Area = H·W] → [N, C]; max saves
    /// each plane's winner (its index in the plane) in <see cref="Indices"/>.
    /// </summary>
    public sealed class GlobalPool2dKernel : Kernel
    {
        public GlobalPool2dKernel(string name, IReadOnlyList<Origin> origins, PoolKind kind, Dim planes, Dim area, PlanBuffer input, PlanBuffer output, PlanBuffer? indices)
            : base(name, origins)
        {
            Kind = kind;
            Planes = planes;
            Area = area;
            Input = input;
            Output = output;
            Indices = indices;
        }

        public PoolKind Kind { get; }
        public Dim Planes { get; }
        public Dim Area { get; }
        public PlanBuffer Input { get; }
        public PlanBuffer Output { get; }

        /// <summary>i32 [N, C], saved for the backward (max only).</summary>
        public PlanBuffer? Indices { get; }
    }

    /// <summary>Average: <c>dx[p, :] (+)= dy[p] / Area</c>; max: <c>dx[p, indices[p]] (+)= dy[p]</c>, 0 elsewhere.</summary>
    public sealed class GlobalPool2dBackwardKernel : Kernel
    {
        public GlobalPool2dBackwardKernel(string name, IReadOnlyList<Origin> origins, PoolKind kind, Dim planes, Dim area, PlanBuffer outputGradient, PlanBuffer? indices, GradientOutput inputGradient)
            : base(name, origins)
        {
            Kind = kind;
            Planes = planes;
            Area = area;
            OutputGradient = outputGradient;
            Indices = indices;
            InputGradient = inputGradient;
        }

        public PoolKind Kind { get; }
        public Dim Planes { get; }
        public Dim Area { get; }
        public PlanBuffer OutputGradient { get; }
        public PlanBuffer? Indices { get; }
        public GradientOutput InputGradient { get; }
    }

    /// <summary>
    /// <c>y = (x − mean)·rstd·weight + bias</c> per row over the last axis ([Rows, Dim]), saving <see cref="Mean"/> and
    /// <see cref="Rstd"/> [Rows] for the backward.
    /// </summary>
    public sealed class LayerNormKernel : Kernel
    {
        public LayerNormKernel(string name, IReadOnlyList<Origin> origins, Dim rows, long dim, float epsilon, PlanBuffer input, PlanBuffer weight, PlanBuffer bias, PlanBuffer output, PlanBuffer mean, PlanBuffer rstd)
            : base(name, origins)
        {
            Rows = rows;
            Dim = dim;
            Epsilon = epsilon;
            Input = input;
            Weight = weight;
            Bias = bias;
            Output = output;
            Mean = mean;
            Rstd = rstd;
        }

        public Dim Rows { get; }
        public long Dim { get; }
        public float Epsilon { get; }
        public PlanBuffer Input { get; }
        public PlanBuffer Weight { get; }
        public PlanBuffer Bias { get; }
        public PlanBuffer Output { get; }
        public PlanBuffer Mean { get; }
        public PlanBuffer Rstd { get; }
    }

    /// <summary>
    /// From the forward's input and its saved mean and rstd: <c>dx (+)= rstd·(dn − mean(dn) − x̂·mean(dn·x̂))</c> with
    /// <c>dn = dy·weight</c>, <c>dWeight (+)= Σ dy·x̂</c>, <c>dBias (+)= Σ dy</c>.
    /// </summary>
    public sealed class LayerNormBackwardKernel : Kernel
    {
        public LayerNormBackwardKernel(string name, IReadOnlyList<Origin> origins, Dim rows, long dim, PlanBuffer input, PlanBuffer weight, PlanBuffer mean, PlanBuffer rstd,
            PlanBuffer outputGradient, GradientOutput? inputGradient, GradientOutput weightGradient, GradientOutput biasGradient)
            : base(name, origins)
        {
            Rows = rows;
            Dim = dim;
            Input = input;
            Weight = weight;
            Mean = mean;
            Rstd = rstd;
            OutputGradient = outputGradient;
            InputGradient = inputGradient;
            WeightGradient = weightGradient;
            BiasGradient = biasGradient;
        }

        public Dim Rows { get; }
        public long Dim { get; }
        public PlanBuffer Input { get; }
        public PlanBuffer Weight { get; }
        public PlanBuffer Mean { get; }
        public PlanBuffer Rstd { get; }
        public PlanBuffer OutputGradient { get; }
        public GradientOutput? InputGradient { get; }
        public GradientOutput WeightGradient { get; }
        public GradientOutput BiasGradient { get; }
    }

    /// <summary><c>y = softmax(x)</c> over the last axis of a [Rows, Cols] view; the output is what the backward reads.</summary>
    public sealed class SoftmaxKernel : Kernel
    {
        public SoftmaxKernel(string name, IReadOnlyList<Origin> origins, Dim rows, Dim cols, PlanBuffer input, PlanBuffer output)
            : base(name, origins)
        {
            Rows = rows;
            Cols = cols;
            Input = input;
            Output = output;
        }

        public Dim Rows { get; }
        public Dim Cols { get; }
        public PlanBuffer Input { get; }
        public PlanBuffer Output { get; }
    }

    /// <summary><c>dx (+)= y ⊙ (dy − Σ dy·y)</c> per row, from the forward's output <see cref="Output"/>.</summary>
    public sealed class SoftmaxBackwardKernel : Kernel
    {
        public SoftmaxBackwardKernel(string name, IReadOnlyList<Origin> origins, Dim rows, Dim cols, PlanBuffer output, PlanBuffer outputGradient, GradientOutput inputGradient)
            : base(name, origins)
        {
            Rows = rows;
            Cols = cols;
            Output = output;
            OutputGradient = outputGradient;
            InputGradient = inputGradient;
        }

        public Dim Rows { get; }
        public Dim Cols { get; }
        public PlanBuffer Output { get; }
        public PlanBuffer OutputGradient { get; }
        public GradientOutput InputGradient { get; }
    }

    /// <summary>
    /// flatten/reshape: <see cref="Output"/> is <see cref="Input"/> viewed with another shape (its <see cref="PlanBuffer.AliasOf"/>:
    /// row-major order is unchanged, so the elements are the same memory). No work; the kernel records where the view
    /// begins. The backward has one too, for the gradients (the output's gradient aliases the input's).
    /// </summary>
    public sealed class ReshapeKernel : Kernel
    {
        public ReshapeKernel(string name, IReadOnlyList<Origin> origins, PlanBuffer input, PlanBuffer output)
            : base(name, origins)
        {
            Input = input;
            Output = output;
        }

        public PlanBuffer Input { get; }
        public PlanBuffer Output { get; }
    }

    /// <summary>
    /// select / slice: x [Outer, Length, Inner] (the axis in the middle) → y [Outer, Count, Inner], the axis' rows from
    /// <see cref="Start"/> (negative: counted from the end, resolved at run time where Length is symbolic).
    /// </summary>
    public sealed class NarrowKernel : Kernel
    {
        public NarrowKernel(string name, IReadOnlyList<Origin> origins, Dim outer, Dim length, Dim inner, long start, Dim count, PlanBuffer input, PlanBuffer output)
            : base(name, origins)
        {
            Outer = outer;
            Length = length;
            Inner = inner;
            Start = start;
            Count = count;
            Input = input;
            Output = output;
        }

        public Dim Outer { get; }
        public Dim Length { get; }
        public Dim Inner { get; }
        public long Start { get; }
        public Dim Count { get; }
        public PlanBuffer Input { get; }
        public PlanBuffer Output { get; }
    }

    /// <summary>
    /// mean / sum / max over the middle axis of x [Outer, Length, Inner] → y [Outer, Inner]; an optional mask [Outer,
    /// Length] (f32 or i32) weighs the positions; max saves each winner in <see cref="Indices"/> (i32, y's shape).
    /// </summary>
    public sealed class ReduceKernel : Kernel
    {
        public ReduceKernel(string name, IReadOnlyList<Origin> origins, ModelDsl.IR.OpKind kind, Dim outer, Dim length, Dim inner, PlanBuffer input, PlanBuffer? mask, PlanBuffer output, PlanBuffer? indices)
            : base(name, origins)
        {
            Kind = kind;
            Outer = outer;
            Length = length;
            Inner = inner;
            Input = input;
            Mask = mask;
            Output = output;
            Indices = indices;
        }

        /// <summary><c>ReduceMean</c>, <c>ReduceSum</c> or <c>ReduceMax</c>.</summary>
        public ModelDsl.IR.OpKind Kind { get; }
        public Dim Outer { get; }
        public Dim Length { get; }
        public Dim Inner { get; }
        public PlanBuffer Input { get; }
        public PlanBuffer? Mask { get; }
        public PlanBuffer Output { get; }
        public PlanBuffer? Indices { get; }
    }

    /// <summary>mean / sum: <c>dx (+)= dy·w</c> (mean: / the forward's denominator); max: <c>dx (+)= dy</c> at the saved winners, 0 elsewhere.</summary>
    public sealed class ReduceBackwardKernel : Kernel
    {
        public ReduceBackwardKernel(string name, IReadOnlyList<Origin> origins, ReduceKernel forward, PlanBuffer outputGradient, GradientOutput inputGradient)
            : base(name, origins)
        {
            Forward = forward;
            OutputGradient = outputGradient;
            InputGradient = inputGradient;
        }

        /// <summary>The forward kernel: its sizes, mask and saved winners.</summary>
        public ReduceKernel Forward { get; }
        public PlanBuffer OutputGradient { get; }
        public GradientOutput InputGradient { get; }
    }

    /// <summary>select / slice backward: <c>dx[:, rows, :] (+)= dy</c>, the other rows (+)= 0 (the forward's sizes).</summary>
    public sealed class NarrowBackwardKernel : Kernel
    {
        public NarrowBackwardKernel(string name, IReadOnlyList<Origin> origins, NarrowKernel forward, PlanBuffer outputGradient, GradientOutput inputGradient)
            : base(name, origins)
        {
            Forward = forward;
            OutputGradient = outputGradient;
            InputGradient = inputGradient;
        }

        /// <summary>The forward kernel, for its sizes.</summary>
        public NarrowKernel Forward { get; }
        public PlanBuffer OutputGradient { get; }
        public GradientOutput InputGradient { get; }
    }
}
