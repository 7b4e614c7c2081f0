using System.Collections.Generic;
using System.Linq;
using ModelDsl.IR;

namespace ModelDsl.Plan
{
    /// <summary>
    /// One recomputed block instance (<c>recompute Block</c>, docs/language.md "Activation recomputation"): its forward kernels,
    /// which the backward pass runs again in training mode right before <see cref="FirstBackward"/>, the first of its backward
    /// kernels. Between the two, nothing of the instance's is kept but its inputs: the buffers only its kernels touch are
    /// shared with the other instances of <see cref="SharesWith"/>'s set (one set of scratch for all of them).
    /// </summary>
    public sealed class RecomputeSegment
    {
        public RecomputeSegment(int index, RecomputeInfo instance, IReadOnlyList<Kernel> forward, Kernel firstBackward, IReadOnlyList<PlanBuffer> scratch, RecomputeInfo owner)
        {
            Index = index;
            Instance = instance;
            Forward = forward;
            FirstBackward = firstBackward;
            Scratch = scratch;
            SharesWith = owner;
        }

        /// <summary>The instance's place among the model's recomputed instances (forward order).</summary>
        public int Index { get; }

        public RecomputeInfo Instance { get; }

        /// <summary>The instance's forward kernels, the same objects as in <see cref="TrainingPlan.Forward"/>, in order.</summary>
        public IReadOnlyList<Kernel> Forward { get; }

        /// <summary>The backward kernel the recomputation runs before (the instance's first in <see cref="TrainingPlan.Backward"/>).</summary>
        public Kernel FirstBackward { get; }

        /// <summary>
        /// The instance's own buffers (activations, saved statistics, working memory, their gradients): touched by its
        /// kernels only, so nothing outside reads them and the recomputation rewrites them. Aliases of the set's owner's.
        /// </summary>
        public IReadOnlyList<PlanBuffer> Scratch { get; }

        /// <summary>The instance whose buffers hold this one's scratch (itself for the first instance of a set).</summary>
        public RecomputeInfo SharesWith { get; }
    }

    /// <summary>Every buffer a kernel reads or writes, as the plan names them (not resolved to roots).</summary>
    public static class KernelBuffers
    {
        /// <summary>The buffers of <paramref name="kernel"/>, the GPU calls' and working memory included; throws for a kind it does not know.</summary>
        public static IEnumerable<PlanBuffer> Of(Kernel kernel) => kernel switch
        {
            GemmKernel g => new[] { g.A, g.B, g.C },
            ElementwiseKernel e => e.Outputs.Select(o => o.Target).Concat(e.ColumnSums.Select(s => s.Target))
                .Concat(e.Outputs.Select(o => o.Value).Concat(e.ColumnSums.Select(s => s.Value)).SelectMany(ExprWalker.Nodes).OfType<LoadExpr>().Select(l => l.Buffer)),
            LossKernel l => new[] { l.Prediction, l.Target, l.PredictionGradient }.Where(b => b is not null).Select(b => b!),
            ReshapeKernel r => new[] { r.Input, r.Output },
            _ when kernel.Calls is { } calls => calls.Calls.Concat(calls.GpuCalls ?? new LayerCall[0]).SelectMany(c => c.Arguments).SelectMany(Of)
                .Concat(calls.Workspace is { } w ? new[] { w } : new PlanBuffer[0]),
            _ => throw new System.InvalidOperationException($"{kernel.Name}: no buffers known for a {kernel.GetType().Name}"),
        };

        private static IEnumerable<PlanBuffer> Of(LayerArgument argument) => argument switch
        {
            BufferArgument { Buffer: { } b } => new[] { b },
            GeometryArgument geometry => geometry.Fields.SelectMany(Of),
            _ => new PlanBuffer[0],
        };
    }
}
