using System.Collections.Generic;
using System.Linq;
using ModelDsl.IR;

namespace ModelDsl.Ops
{
    /// <summary>
    /// The op table (tinygrad style): every op rule, once. Source names (and aliases: <c>linear</c> → dense) and IR
    /// kinds look up the same rule. docs/adding-an-op.md; <c>tests/Dsl.Tests/OpCompletenessTests.cs</c> checks that
    /// every rule here has every part.
    /// </summary>
    internal static class OpCatalog
    {
        /// <summary>Every op, in the order docs/language.md lists them.</summary>
        public static readonly IReadOnlyList<OpRule> All = new OpRule[]
        {
            Dense.Rule,
            Activation.Relu,
            Gelu.Rule,
            Activation.Sigmoid,
            Activation.Tanh,
            Activation.Silu,
            LeakyRelu.Rule,
            Elu.Rule,
            Softmax.Rule,
            Dropout.Rule,
            LayerNorm.Rule,
            BatchNorm.Rule,
            Conv2d.Rule,
            Pool2d.Max,
            Pool2d.Average,
            GlobalPool2d.Max,
            GlobalPool2d.Average,
            Flatten.Rule,
            Reshape.Rule,
            Permute.Rule,
            Select.Rule,
            Reduce.Mean,
            Reduce.Sum,
            Reduce.Max,
            Slice.Rule,
            Embedding.Rule,
            Positional.Rule,
            Lstm.Rule,
            Gru.Rule,
            Attention.Rule,
            AddMul.Add,
            AddMul.Mul,
            Concat.Rule,
        };

        private static readonly Dictionary<string, OpRule> ByName = BuildNames();
        private static readonly Dictionary<OpKind, OpRule> ByKind = All.ToDictionary(o => o.Kind, o => o);

        public static bool TryGet(string name, out OpRule op) => ByName.TryGetValue(name, out op!);

        /// <summary>The rule of an IR op.</summary>
        public static OpRule Of(OpKind kind) => ByKind[kind];

        /// <summary>The rule of a node.</summary>
        public static OpRule Of(OpNode node) => ByKind[node.Kind];

        public static IEnumerable<string> Names => ByName.Keys;

        private static Dictionary<string, OpRule> BuildNames()
        {
            var table = new Dictionary<string, OpRule>(System.StringComparer.Ordinal);
            foreach (var op in All) table.Add(op.Name, op);
            foreach (var op in All)
            {
                foreach (var alias in op.Aliases) table.Add(alias, op);
            }
            return table;
        }
    }
}
