using System.Collections.Generic;
using System.Linq;
using ModelDsl.IR;

namespace ModelDsl.Autodiff
{
    /// <summary>
    /// A run of ops executed as one unit: an optional dense layer (a GEMM) followed by a chain of elementwise ops,
    /// each consuming the previous one's output, which nothing else reads. Forward, the chain (including the dense
    /// bias) is one loop; backward, the chain's gradients and the bias gradient are one loop too.
    /// </summary>
    internal sealed class FusionGroup
    {
        public FusionGroup(OpNode? dense, IReadOnlyList<OpNode> chain)
        {
            Dense = dense;
            Chain = chain;
        }

        public OpNode? Dense { get; }

        /// <summary>Elementwise ops in order; input 0 of the first is the dense output when there is a dense op.</summary>
        public IReadOnlyList<OpNode> Chain { get; }

        public IEnumerable<OpNode> Ops => Dense is null ? Chain : new[] { Dense }.Concat(Chain);

        public TensorValue Output => Chain.Count > 0 ? Chain[Chain.Count - 1].Output : Dense!.Output;
    }

    internal static class FusionGrouping
    {
        /// <summary>
        /// Splits the graph (in topological order) into groups. An op joins the current group when it is elementwise,
        /// its chain input is the group's current output, and that output has no other reader — fusing past a value
        /// that something else reads would compute it twice or force a store anyway.
        /// </summary>
        public static IReadOnlyList<FusionGroup> Build(ModelGraph model)
        {
            var readers = new Dictionary<int, int>();
            foreach (var node in model.Nodes)
            {
                foreach (var input in node.Inputs.Distinct()) readers[input.Id] = readers.TryGetValue(input.Id, out int n) ? n + 1 : 1;
            }
            if (model.Loss is { } loss)
            {
                readers[loss.Prediction.Id] = readers.TryGetValue(loss.Prediction.Id, out int n) ? n + 1 : 1;
            }
            readers[model.Output.Id] = readers.TryGetValue(model.Output.Id, out int o) ? o + 1 : 1;

            var groups = new List<FusionGroup>();
            OpNode? dense = null;
            var chain = new List<OpNode>();
            TensorValue? current = null;

            void Close()
            {
                if (dense is not null || chain.Count > 0) groups.Add(new FusionGroup(dense, chain.ToList()));
                dense = null;
                chain.Clear();
                current = null;
            }

            foreach (var node in model.Nodes)
            {
                bool extends = current is not null
                    && GradientRules.IsElementwise(node.Kind)
                    && node.Inputs.Count > 0 && node.Inputs[0] == current
                    && readers.TryGetValue(current.Id, out int r) && r == 1;
                if (!extends) Close();

                if (node.Kind == OpKind.Dense) dense = node;
                else chain.Add(node);
                current = node.Output;
            }
            Close();
            return groups;
        }
    }
}
