using System.Collections.Generic;
using ModelDsl.IR;

namespace ModelDsl.Ops
{
    /// <summary>A loss: its kind and its own signature (the tensors it compares, then its options).</summary>
    internal sealed record LossEntry(LossKind Kind, Signature Signature);

    /// <summary>
    /// The losses: each takes (prediction, target), then its own options, stated here once with their defaults; the
    /// binder checks shapes and types per kind. An unknown argument's message lists the loss's real options
    /// ("it takes: label_smoothing"), or says it takes none.
    /// </summary>
    internal static class Losses
    {
        /// <summary>PyTorch's default: no smoothing. 1 is allowed (a uniform target), as torch.nn.CrossEntropyLoss allows it.</summary>
        public const double DefaultLabelSmoothing = 0.0;

        public static readonly IReadOnlyDictionary<string, LossEntry> Table = new Dictionary<string, LossEntry>
        {
            ["mse"] = new LossEntry(LossKind.Mse, new Signature(Signature.Tensor("prediction"), Signature.Tensor("target"))),
            ["bce_with_logits"] = new LossEntry(LossKind.BceWithLogits, new Signature(Signature.Tensor("prediction"), Signature.Tensor("target"))),
            ["cross_entropy"] = new LossEntry(LossKind.CrossEntropy, new Signature(Signature.Tensor("prediction"), Signature.Tensor("target"),
                Signature.Real("label_smoothing", DefaultLabelSmoothing, min: 0, max: 1))),
        };
    }
}
