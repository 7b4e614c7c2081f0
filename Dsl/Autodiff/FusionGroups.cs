using System.Collections.Generic;
using System.Linq;
using ModelDsl.IR;

namespace ModelDsl.Autodiff
{
    /// <summary>
    /// A run of ops executed as one unit: an optional head (a dense layer, or attention, whose result is a matrix
    /// product plus a bias) followed by a chain of elementwise ops, each consuming the previous one's output, which
    /// nothing else reads. Forward, the chain (including the head's bias) is one loop; backward, the chain's gradients
    /// and the bias gradient are one loop too. A layer with kernels of its own (conv2d, pooling, layer_norm, lstm, ...)
    /// is a group by itself.
    /// </summary>
    internal sealed class FusionGroup
    {
        public FusionGroup(OpNode? head, IReadOnlyList<OpNode> chain, OpNode? layer = null)
        {
            Head = head;
            Chain = chain;
            Layer = layer;
        }

        /// <summary>Dense or attention: the GEMM whose bias add the chain's loop performs.</summary>
        public OpNode? Head { get; }

        /// <summary>Elementwise ops in order; the first reads the head's output when there is a head.</summary>
        public IReadOnlyList<OpNode> Chain { get; }

        /// <summary>A layer planned as kernels of its own (then <see cref="Head"/> is null and <see cref="Chain"/> empty).</summary>
        public OpNode? Layer { get; }

        public IEnumerable<OpNode> Ops => Layer is not null ? new[] { Layer } : Head is null ? Chain : new[] { Head }.Concat(Chain);

        public TensorValue Output => Layer is not null ? Layer.Output : Chain.Count > 0 ? Chain[Chain.Count - 1].Output : Head!.Output;
    }

    internal static class FusionGrouping
    {
        /// <summary>
        /// Splits the graph (in topological order) into groups. An op joins the current group when it is elementwise,
        /// one of its inputs is the group's current output (a residual add continues the chain of either operand), and
        /// that output has no other reader — fusing past a value that something else reads would compute it twice or
        /// force a store anyway. Dense and attention start a group; any other layer is a group of its own. A group never spans
        /// the boundary of a recomputed block instance, so the backward pass can run an instance's forward kernels again alone.
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
            foreach (var output in model.Outputs) readers[output.Id] = readers.TryGetValue(output.Id, out int o) ? o + 1 : 1;
            var instance = RecomputedInstances(model);
            int InstanceOf(OpNode node) => instance.TryGetValue(node, out int i) ? i : -1;

            var groups = new List<FusionGroup>();
            OpNode? head = null;
            var chain = new List<OpNode>();
            TensorValue? current = null;

            void Close()
            {
                if (head is not null || chain.Count > 0) groups.Add(new FusionGroup(head, chain.ToList()));
                head = null;
                chain.Clear();
                current = null;
            }

            foreach (var node in model.Nodes)
            {
                bool extends = current is not null
                    && IsElementwise(node.Kind)
                    && node.Inputs.Contains(current)
                    && readers.TryGetValue(current.Id, out int r) && r == 1
                    && InstanceOf(node) == InstanceOf(chain.Count > 0 ? chain[chain.Count - 1] : head!); // a recomputed block's kernels are its own
                if (!extends) Close();

                if (IsHead(node.Kind))
                {
                    head = node;
                }
                else if (IsElementwise(node.Kind))
                {
                    chain.Add(node);
                }
                else
                {
                    groups.Add(new FusionGroup(null, new OpNode[0], node));
                    continue; // current stays null: an elementwise op after a layer starts a group of its own
                }
                current = node.Output;
            }
            Close();
            return groups;
        }

        /// <summary>Each op of a recomputed block instance (<see cref="ModelGraph.Recomputed"/>) to the instance's index.</summary>
        public static Dictionary<OpNode, int> RecomputedInstances(ModelGraph model)
        {
            var result = new Dictionary<OpNode, int>();
            for (int i = 0; i < model.Recomputed.Count; i++)
            {
                foreach (var node in model.Recomputed[i].Nodes) result[node] = i;
            }
            return result;
        }

        /// <summary>Ops whose result is a matrix product plus an optional bias: the bias add fuses into the chain after them.</summary>
        public static bool IsHead(OpKind kind) => Ops.OpCatalog.Of(kind).Planning == Ops.Planning.Head;

        /// <summary>Ops that fuse into the loop of the op before them.</summary>
        public static bool IsElementwise(OpKind kind) => Ops.OpCatalog.Of(kind).Planning == Ops.Planning.Elementwise;
    }
}
