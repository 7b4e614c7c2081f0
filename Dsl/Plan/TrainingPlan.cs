using System.Collections.Generic;
using System.Linq;
using ModelDsl.IR;

namespace ModelDsl.Plan
{
    /// <summary>
    /// Everything a backend needs to generate a model's code: the buffers, the forward pass, the loss, and the backward pass written out kernel by
    /// kernel. Built by <see cref="Autodiff.PlanBuilder"/>; rendered by the C# emitter (and the CUDA emitter).
    /// </summary>
    public sealed class TrainingPlan
    {
        public TrainingPlan(
            ModelGraph model,
            IReadOnlyList<PlanBuffer> buffers,
            IReadOnlyList<Kernel> forward,
            IReadOnlyList<PlanBuffer> outputs,
            LossKernel? loss,
            IReadOnlyList<Kernel> backward,
            IReadOnlyList<PlanBuffer> parameters,
            IReadOnlyList<PlanBuffer> parameterGradients,
            int dropoutSlots,
            EntryChecks? entryChecks = null,
            IReadOnlyList<PlanBuffer>? states = null,
            IReadOnlyList<RecomputeSegment>? recompute = null,
            IReadOnlyDictionary<Kernel, int>? recomputedInstanceOf = null)
        {
            Recompute = recompute ?? new RecomputeSegment[0];
            _recomputeBefore = Recompute.ToDictionary(s => s.FirstBackward);
            _instanceOf = recomputedInstanceOf ?? new Dictionary<Kernel, int>();
            States = states ?? new PlanBuffer[0];
            EntryChecks = entryChecks ?? EntryChecks.None;
            Model = model;
            Buffers = buffers;
            Forward = forward;
            Outputs = outputs;
            Loss = loss;
            Backward = backward;
            Parameters = parameters;
            ParameterGradients = parameterGradients;
            DropoutSlots = dropoutSlots;
        }

        public ModelGraph Model { get; }

        /// <summary>Every buffer, in a stable order: inputs, labels, parameters, then activations and gradients by first use.</summary>
        public IReadOnlyList<PlanBuffer> Buffers { get; }

        /// <summary>
        /// The forward pass: computes the model output and the loss's prediction and keeps what backward reads.
        /// Kernels with <see cref="ElementwiseKernel.UsesDropout"/> apply their masks only in training mode.
        /// </summary>
        public IReadOnlyList<Kernel> Forward { get; }

        /// <summary>The buffers holding the model's declared outputs after <see cref="Forward"/>, in <see cref="ModelGraph.Outputs"/> order.</summary>
        public IReadOnlyList<PlanBuffer> Outputs { get; }

        /// <summary>The buffer holding the first declared output (what <c>Forward</c> returns).</summary>
        public PlanBuffer Output => Outputs[0];
        public LossKernel? Loss { get; }

        /// <summary>
        /// The backward pass's own kernels. With <see cref="Recompute"/> it runs forward kernels too: a recomputed use's, right
        /// before <see cref="RecomputeSegment.FirstBackward"/> (<see cref="BackwardAsRun"/> lists them in order), so an
        /// analysis of when a buffer is written or read (memory reuse) must walk that sequence, not this list.
        /// </summary>
        public IReadOnlyList<Kernel> Backward { get; }

        /// <summary>The kernels the backward pass runs, in order: each recomputed use's forward kernels before its first backward kernel.</summary>
        public IEnumerable<Kernel> BackwardAsRun()
        {
            foreach (var kernel in Backward)
            {
                if (RecomputeBefore(kernel) is { } segment)
                {
                    foreach (var recomputed in segment.Forward) yield return recomputed;
                }
                yield return kernel;
            }
        }

        /// <summary>Parameter buffers in <see cref="ModelGraph.Parameters"/> order, and their gradients in the same order.</summary>
        public IReadOnlyList<PlanBuffer> Parameters { get; }
        public IReadOnlyList<PlanBuffer> ParameterGradients { get; }

        /// <summary>
        /// Untrained layer state (<see cref="BufferKind.State"/>) in <see cref="ModelGraph.States"/> order, counters
        /// excluded (they live on the host and reach the kernels as <see cref="CounterArgument"/>s).
        /// </summary>
        public IReadOnlyList<PlanBuffer> States { get; }

        public int DropoutSlots { get; }

        /// <summary>
        /// The recomputed block instances that have backward kernels, in forward order (<c>recompute Block</c>): before each
        /// one's <see cref="RecomputeSegment.FirstBackward"/> the backward pass runs its <see cref="RecomputeSegment.Forward"/> again.
        /// </summary>
        public IReadOnlyList<RecomputeSegment> Recompute { get; }

        private readonly Dictionary<Kernel, RecomputeSegment> _recomputeBefore;
        private readonly IReadOnlyDictionary<Kernel, int> _instanceOf;

        /// <summary>The recomputation to run right before backward kernel <paramref name="kernel"/>, or null.</summary>
        public RecomputeSegment? RecomputeBefore(Kernel kernel) => _recomputeBefore.TryGetValue(kernel, out var segment) ? segment : null;

        /// <summary>
        /// Which recomputed instance (<see cref="ModelGraph.Recomputed"/>'s index) a forward or backward kernel belongs to, or
        /// -1. A backend that fuses two kernels into one launch must keep them in the same instance: a recomputation re-runs
        /// exactly its instance's kernels.
        /// </summary>
        public int RecomputedInstanceOf(Kernel kernel) => _instanceOf.TryGetValue(kernel, out int index) ? index : -1;

        /// <summary>Checks at entry the input shapes do not cover: sequence lengths a positional table limits, embedding ids.</summary>
        public EntryChecks EntryChecks { get; }
    }
}
