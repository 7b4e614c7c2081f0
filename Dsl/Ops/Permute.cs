using System.Collections.Generic;
using System.Linq;
using ModelDsl.Binding;
using ModelDsl.Emit.Onnx;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;

using static ModelDsl.Plan.L;

namespace ModelDsl.Ops
{
    /// <summary><c>permute(d0, d1, ...)</c>: output axis i is input axis <see cref="Dims"/>[i] (normalised, non-negative).</summary>
    public sealed record PermuteAttributes(IReadOnlyList<long> Dims) : OpAttributes
    {
        public override IReadOnlyList<KeyValuePair<string, AttributeValue>> Describe() => new[] { Pair("dims", Dims) };

        public bool Equals(PermuteAttributes? other) => other is not null && Dims.SequenceEqual(other.Dims);

        public override int GetHashCode() => Dims.Count;
    }

    /// <summary>
    /// <c>permute(d0, d1, ...)</c> (PyTorch's <c>x.permute</c>): output axis i is input axis d_i, for a tensor of rank ≤ 4
    /// (<c>permute(0, 3, 1, 2)</c> brings channels-last images [N, H, W, C] to channels-first). The output is a copy in
    /// the new order; the backward copies the gradient back with the inverse permutation. Kernels:
    /// <c>Runtime/Cpu/Layers/Permute.cs</c>, <c>md_permute_*</c> (CUDA).
    /// </summary>
    internal sealed class Permute : OpRule<PermuteAttributes>
    {
        public const int MaxRank = 4;

        public static readonly Permute Rule = new Permute();

        private Permute()
            : base("permute", OpKind.Permute, new Signature(Signature.Tensor(), new ParamSpec("dims", ParamKind.Ints)))
        {
        }

        public override Shape? Check(OpContext c)
        {
            if (!c.RequireDType(0, DType.F32)) return null;
            int rank = c.InputShape.Rank;
            var given = c.List("dims")!.Elements.Select(e => ((IntValue)e).Integer).ToList();
            var span = c.SpanOf("dims");
            string F(long v) => v.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (rank > MaxRank)
            {
                c.Diagnostics.ReportUnsupportedOption(c.InputSpan, c.Name, "of a rank-" + F(rank) + " tensor",
                    "the kernels permute tensors of rank " + F(MaxRank) + " at most", "reshape to fewer axes first");
                return null;
            }
            var dims = given.Select(d => d < 0 ? d + rank : d).ToList();
            if (given.Count != rank || dims.Any(d => d < 0 || d >= rank) || dims.Distinct().Count() != rank)
            {
                c.Diagnostics.ReportUnsupportedOption(span, c.Name, "(" + string.Join(", ", given.Select(F)) + ")",
                    "the dims must name each axis of " + c.InputName + " " + c.InputShape + " once (a permutation of 0.." + F(rank - 1) + ")",
                    "give " + F(rank) + " distinct axes");
                return null;
            }
            c.SetAttributes(new PermuteAttributes(dims));
            return new Shape(dims.Select(d => c.InputShape[(int)d]).ToList());
        }

        public override Planning Planning => Planning.Layer;

        // y[i0, i1, ...] = x at the input position whose axis dims[k] is i_k
        public override Kernel PlanForward(IPlanContext p, OpNode op) =>
            new PermuteKernel(p.KernelName("fwd", Name), new[] { p.Origin(op) }, Copy(op.Inputs[0].Shape, Attributes(op).Dims), p.Value(op.Inputs[0]), p.Value(op.Output), null);

        // dx (+)= dy permuted back: the same copy with the inverse permutation, from the output's shape
        public override IEnumerable<Kernel> PlanBackward(IPlanContext p, OpNode op, Kernel forward)
        {
            if (!p.NeedsGradient(op.Inputs[0])) yield break;
            var dims = Attributes(op).Dims;
            var inverse = new long[dims.Count];
            for (int i = 0; i < dims.Count; i++) inverse[dims[i]] = i;
            yield return new PermuteKernel(p.KernelName("bwd", Name), new[] { p.Origin(op) }, Copy(op.Output.Shape, inverse), p.Gradient(op.Output), null, InputGradient(p, op));
        }

        /// <summary>
        /// The copy of a [source] tensor into its permutation: the destination's sizes and, for each destination axis, the
        /// source's stride along it; padded in front to rank 4 with size-1 axes (stride 0).
        /// </summary>
        private static PermuteCopy Copy(Shape source, IReadOnlyList<long> dims)
        {
            int rank = source.Rank, pad = MaxRank - rank;
            var strides = new Dim[rank];
            Dim stride = Dim.Known(1);
            for (int a = rank - 1; a >= 0; a--)
            {
                strides[a] = stride;
                stride = stride.Multiply(source[a]);
            }
            var sizes = Enumerable.Repeat(Dim.Known(1), pad).Concat(dims.Select(d => source[(int)d])).ToArray();
            var sourceStrides = Enumerable.Repeat(Dim.Known(0), pad).Concat(dims.Select(d => strides[(int)d])).ToArray();
            return new PermuteCopy(sizes, sourceStrides);
        }

        public override LayerCalls? Calls(Kernel kernel) => kernel switch
        {
            PermuteKernel { OutputGradient: null } k => Does(
                $"{k.Output!}{k.Output!.Shape} = {k.Input!} with its axes permuted (a copy)",
                Call("Permute", "Forward", Sizes(k.Copy).Concat(new[] { Buffer(k.Input), Buffer(k.Output) }).ToArray())),
            PermuteKernel k => Does(
                $"{k.InputGradient!} {k.OutputGradient!} permuted back (the inverse permutation)",
                Call("Permute", "Backward", Sizes(k.Copy).Concat(new[] { Buffer(k.OutputGradient), Gradient(k.InputGradient), Flag("accumulate", k.InputGradient!.Accumulate) }).ToArray())),
            _ => null,
        };

        private static IEnumerable<LayerArgument> Sizes(PermuteCopy copy) => copy.Sizes.Select(Size).Concat(copy.SourceStrides.Select(Size));

        // a copy: no arithmetic
        public override OpCost Cost(OpNode op, CostContext c) => OpCost.Free;

        public override void LowerOnnx(IOnnxContext o, OpNode op) =>
            o.Emit("Transpose", new[] { o.Input(0) }, o.Output, OnnxAttribute.Ints("perm", Attributes(op).Dims.ToArray()));
    }
}
