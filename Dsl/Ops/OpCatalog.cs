using System.Collections.Generic;
using System.Linq;
using ModelDsl.IR;
using ModelDsl.Ops.Rules;

namespace ModelDsl.Ops
{
    /// <summary>The op table (tinygrad style): source name → definition, with aliases (<c>linear</c> → dense).</summary>
    internal static class OpCatalog
    {
        private static readonly Dictionary<string, OpDefinition> Ops = Build();

        public static bool TryGet(string name, out OpDefinition op) => Ops.TryGetValue(name, out op!);

        public static IEnumerable<string> Names => Ops.Keys;

        private static Dictionary<string, OpDefinition> Build()
        {
            var list = new[]
            {
                new OpDefinition("dense", OpKind.Dense, DenseRule.Signature, DenseRule.Apply),
                new OpDefinition("relu", OpKind.Relu, ActivationRules.Signature, ActivationRules.Apply),
                new OpDefinition("gelu", OpKind.Gelu, ActivationRules.Signature, ActivationRules.Apply),
                new OpDefinition("sigmoid", OpKind.Sigmoid, ActivationRules.Signature, ActivationRules.Apply),
                new OpDefinition("tanh", OpKind.Tanh, ActivationRules.Signature, ActivationRules.Apply),
                new OpDefinition("silu", OpKind.Silu, ActivationRules.Signature, ActivationRules.Apply),
                new OpDefinition("softmax", OpKind.Softmax, SoftmaxRule.Signature, SoftmaxRule.Apply),
                new OpDefinition("dropout", OpKind.Dropout, DropoutRule.Signature, DropoutRule.Apply),
                new OpDefinition("layer_norm", OpKind.LayerNorm, LayerNormRule.Signature, LayerNormRule.Apply),
                new OpDefinition("conv2d", OpKind.Conv2d, Conv2dRule.Signature, Conv2dRule.Apply),
                new OpDefinition("max_pool2d", OpKind.MaxPool2d, Pool2dRule.Signature, Pool2dRule.Apply),
                new OpDefinition("avg_pool2d", OpKind.AvgPool2d, Pool2dRule.Signature, Pool2dRule.Apply),
                new OpDefinition("flatten", OpKind.Flatten, FlattenRule.Signature, FlattenRule.Apply, outputType: null),
                new OpDefinition("reshape", OpKind.Reshape, ReshapeRule.Signature, ReshapeRule.Apply, outputType: null),
                new OpDefinition("embedding", OpKind.Embedding, EmbeddingRule.Signature, EmbeddingRule.Apply),
                new OpDefinition("positional", OpKind.PositionalEmbedding, PositionalRule.Signature, PositionalRule.Apply),
                new OpDefinition("lstm", OpKind.Lstm, LstmRule.Signature, LstmRule.Apply),
                new OpDefinition("attention", OpKind.Attention, AttentionRule.Signature, AttentionRule.Apply),
                new OpDefinition("add", OpKind.Add, ElementwiseRule.Signature, ElementwiseRule.Apply, outputType: null),
                new OpDefinition("mul", OpKind.Mul, ElementwiseRule.Signature, ElementwiseRule.Apply, outputType: null),
                new OpDefinition("concat", OpKind.Concat, ConcatRule.Signature, ConcatRule.Apply, outputType: null),
            };
            var table = list.ToDictionary(o => o.Name, o => o);
            table["linear"] = table["dense"];
            return table;
        }
    }
}
