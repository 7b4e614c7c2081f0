using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using ModelDsl.IR;
using ModelDsl.Plan;
using ModelDsl.Shapes;

namespace ModelDsl.Autodiff
{
    /// <summary>
    /// Activation recomputation (<c>recompute Block</c>, docs/language.md "Activation recomputation"; PyTorch's
    /// <c>torch.utils.checkpoint</c>). Fusion never crosses a recomputed instance's boundary (<see cref="FusionGrouping"/>),
    /// so each kernel belongs to one instance or to none. An instance's scratch is every buffer only its own kernels touch:
    /// instances with the same block and the same scratch layout share one set of it (the later ones' buffers become aliases
    /// of the first one's), so the forward pass keeps of each instance only what the rest of the model reads, its inputs and
    /// output; the backward pass runs an instance's forward kernels again, in training mode, right before its backward kernels.
    /// The dropout masks come out the same: a mask is a function of the seed (Seed, Step, slot, stream) and the element index.
    /// </summary>
    public sealed partial class PlanBuilder
    {
        /// <summary>Each op of a recomputed instance to the instance's index in <see cref="ModelGraph.Recomputed"/>.</summary>
        private Dictionary<OpNode, int>? _recomputedOp;

        /// <summary>Each forward and backward kernel of a recomputed instance to the instance's index.</summary>
        private readonly Dictionary<Kernel, int> _recomputedKernel = new Dictionary<Kernel, int>();

        /// <summary>Records the kernels a group added from <paramref name="start"/> on as its recomputed instance's, if any.</summary>
        private void MarkRecomputed(FusionGroup group, List<Kernel> kernels, int start)
        {
            _recomputedOp ??= FusionGrouping.RecomputedInstances(_model);
            if (!_recomputedOp.TryGetValue(group.Ops.First(), out int instance)) return;
            for (int i = start; i < kernels.Count; i++) _recomputedKernel[kernels[i]] = instance;
        }

        /// <summary>
        /// The recomputation of each instance that has backward kernels, and the scratch sharing. Called once both passes are
        /// planned: every gradient's first write (assign, then add) is decided per instance already, so sharing the memory
        /// afterwards changes no kernel.
        /// </summary>
        private IReadOnlyList<RecomputeSegment> PlanRecompute(IReadOnlyList<Kernel> forward, LossKernel? loss, IReadOnlyList<Kernel> backward)
        {
            var instances = _model.Recomputed;
            if (instances.Count == 0 || loss is null) return new RecomputeSegment[0];

            // Buffers (by memory) each kernel outside an instance touches, and the outputs: none of them is scratch.
            var outside = new HashSet<PlanBuffer>(_model.Outputs.Select(o => Value(o).Root));
            foreach (var b in KernelBuffers.Of(loss)) outside.Add(b.Root);
            var touched = instances.Select(_ => new List<PlanBuffer>()).ToList();
            var seen = instances.Select(_ => new HashSet<PlanBuffer>()).ToList();
            var all = forward.Concat(backward).ToList();
            foreach (var kernel in all)
            {
                int instance = _recomputedKernel.TryGetValue(kernel, out int i) ? i : -1;
                foreach (var b in KernelBuffers.Of(kernel).Select(b => b.Root))
                {
                    if (instance < 0) outside.Add(b);
                    else if (seen[instance].Add(b)) touched[instance].Add(b);
                }
            }
            var owners = new Dictionary<PlanBuffer, int>();
            for (int i = 0; i < instances.Count; i++)
            {
                foreach (var b in touched[i]) owners[b] = owners.ContainsKey(b) ? -1 : i; // -1: two instances touch it
            }
            var scratch = touched.Select((list, i) => list.Where(b => b.IsPlanned && !outside.Contains(b) && owners[b] == i).ToList()).ToList();

            foreach (var kernel in forward.Where(k => _recomputedKernel.ContainsKey(k)))
            {
                if (Accumulates(kernel)) throw new System.InvalidOperationException($"{kernel.Name}: a recomputed forward kernel adds to its output, so running it twice would change it");
            }

            // Instances of one block with the same scratch layout share the first one's buffers.
            var firstOf = new Dictionary<string, int>(System.StringComparer.Ordinal);
            var sharesWith = new int[instances.Count];
            for (int i = 0; i < instances.Count; i++)
            {
                string key = instances[i].Block + "|" + string.Join(";", scratch[i].Select(b => Layout(b, all)));
                if (!firstOf.TryGetValue(key, out int owner))
                {
                    firstOf[key] = owner = i;
                }
                sharesWith[i] = owner;
                if (owner == i) continue;
                for (int k = 0; k < scratch[i].Count; k++) scratch[i][k].ShareMemoryOf(scratch[owner][k]);
            }

            var segments = new List<RecomputeSegment>();
            for (int i = 0; i < instances.Count; i++)
            {
                var first = backward.FirstOrDefault(k => _recomputedKernel.TryGetValue(k, out int j) && j == i);
                if (first is null) continue; // nothing of it needs a gradient: its scratch is read by its own forward only
                var kernels = forward.Where(k => _recomputedKernel.TryGetValue(k, out int j) && j == i).ToList();
                segments.Add(new RecomputeSegment(i, instances[i], kernels, first, scratch[i], instances[sharesWith[i]]));
            }
            return segments;
        }

        /// <summary>Whether a kernel adds to a buffer rather than assigning it (a forward kernel never should).</summary>
        private static bool Accumulates(Kernel kernel) => kernel switch
        {
            GemmKernel g => g.Accumulate,
            ElementwiseKernel e => e.Outputs.Any(o => o.Accumulate) || e.ColumnSums.Any(s => s.Accumulate),
            _ => false,
        };

        /// <summary>
        /// What must be equal for two instances' buffers to share memory: kind, element type, shape, and for working memory
        /// the runtime call that sizes it (the same arguments give the same size on every target).
        /// </summary>
        private static string Layout(PlanBuffer b, IReadOnlyList<Kernel> kernels)
        {
            string layout = $"{b.Kind} {b.DType.ToSource()}{b.Shape.ToExpression()}";
            if (b.Kind != BufferKind.Workspace) return layout;
            var calls = kernels.Select(k => k.Calls).FirstOrDefault(c => c?.Workspace == b);
            if (calls?.WorkspaceSize is not { } size) return layout;
            return layout + " " + size.Class + "." + size.Method + "(" + string.Join(", ", size.Arguments.Select(Describe)) + ")";
        }

        private static string Describe(LayerArgument argument) => argument switch
        {
            SizeArgument s => s.Size.ToExpression(),
            IntArgument i => (i.Factor * i.Value).ToString(CultureInfo.InvariantCulture),
            FloatArgument f => f.Value.ToString("R", CultureInfo.InvariantCulture),
            FlagArgument f => f.Name + "=" + f.Value,
            BufferArgument { Buffer: { } b } => b.Shape.ToExpression(),
            GeometryArgument g => g.Type + "(" + string.Join(", ", g.Fields.Select(Describe)) + ")",
            var other => other.GetType().Name,
        };
    }
}
