using System.Collections.Generic;
using ModelDsl.IR;

namespace ModelDsl.Ops
{
    /// <summary>The losses: each takes (prediction, target); the binder checks shapes and types per kind.</summary>
    internal static class Losses
    {
        public static readonly Signature Signature = new Signature(Signature.Tensor("prediction"), Signature.Tensor("target"));

        public static readonly IReadOnlyDictionary<string, LossKind> Table = new Dictionary<string, LossKind>
        {
            ["mse"] = LossKind.Mse,
            ["bce_with_logits"] = LossKind.BceWithLogits,
            ["cross_entropy"] = LossKind.CrossEntropy,
        };
    }
}
