using System.Collections.Generic;
using ModelDsl.Shapes;

namespace ModelDsl.Plan
{
    // concat: one runtime call per input (C#: ModelDsl.Runtime.Cpu.Layers.Concat; CUDA: md_concat_*). Every tensor is
    // seen as a matrix whose rows are the dims before the axis: the inputs [Rows, Widthᵢ], the output [Rows, OutputWidth].

    /// <summary>One input of a concat and the output columns it fills: <c>[Offset, Offset + Width)</c>.</summary>
    public sealed class ConcatPart
    {
        public ConcatPart(PlanBuffer input, Dim width, Dim offset)
        {
            Input = input;
            Width = width;
            Offset = offset;
        }

        public PlanBuffer Input { get; }
        public Dim Width { get; }
        public Dim Offset { get; }
    }

    /// <summary><c>y = concat(x₀, x₁, …)</c>: each input copied into its columns of the output.</summary>
    public sealed class ConcatKernel : Kernel
    {
        public ConcatKernel(string name, IReadOnlyList<Origin> origins, int axis, Dim rows, Dim outputWidth, IReadOnlyList<ConcatPart> parts, PlanBuffer output)
            : base(name, origins)
        {
            Axis = axis;
            Rows = rows;
            OutputWidth = outputWidth;
            Parts = parts;
            Output = output;
        }

        /// <summary>The concatenated axis of the tensors (for comments; the kernels see only rows and columns).</summary>
        public int Axis { get; }
        public Dim Rows { get; }
        public Dim OutputWidth { get; }
        public IReadOnlyList<ConcatPart> Parts { get; }
        public PlanBuffer Output { get; }
    }

    /// <summary>One input's gradient: its columns <c>[Offset, Offset + Width)</c> of the output gradient, assigned or added.</summary>
    public sealed class ConcatGradientPart
    {
        public ConcatGradientPart(GradientOutput gradient, Dim width, Dim offset)
        {
            Gradient = gradient;
            Width = width;
            Offset = offset;
        }

        public GradientOutput Gradient { get; }
        public Dim Width { get; }
        public Dim Offset { get; }
    }

    /// <summary><c>dxᵢ (+)= dy[:, Offsetᵢ : Offsetᵢ + Widthᵢ]</c> for each input that needs a gradient, in input order.</summary>
    public sealed class ConcatBackwardKernel : Kernel
    {
        public ConcatBackwardKernel(string name, IReadOnlyList<Origin> origins, Dim rows, Dim outputWidth, PlanBuffer outputGradient, IReadOnlyList<ConcatGradientPart> parts)
            : base(name, origins)
        {
            Rows = rows;
            OutputWidth = outputWidth;
            OutputGradient = outputGradient;
            Parts = parts;
        }

        public Dim Rows { get; }
        public Dim OutputWidth { get; }
        public PlanBuffer OutputGradient { get; }
        public IReadOnlyList<ConcatGradientPart> Parts { get; }
    }
}
