using System.Collections.Generic;
using ModelDsl.IR;

namespace ModelDsl.Ops
{
    /// <summary>The optimizers with their hyperparameters and defaults (docs/language.md "Optimizers").</summary>
    internal static class Optimizers
    {
        private static readonly ParamSpec Betas = new ParamSpec("betas", ParamKind.RealTuple, optional: true);

        public static readonly Signature Sgd = new Signature(
            new ParamSpec("lr", ParamKind.Real, min: 0),
            Signature.Real("momentum", 0.0, 0),
            Signature.Real("weight_decay", 0.0, 0),
            Signature.Bool("nesterov", false));

        public static readonly Signature Adam = new Signature(
            Signature.Real("lr", 1e-3, 0),
            Betas,
            Signature.Real("eps", 1e-8, 0),
            Signature.Real("weight_decay", 0.0, 0));

        public static readonly Signature AdamW = new Signature(
            Signature.Real("lr", 1e-3, 0),
            Betas,
            Signature.Real("eps", 1e-8, 0),
            Signature.Real("weight_decay", 0.01, 0));

        public static readonly IReadOnlyDictionary<string, KeyValuePair<OptimizerKind, Signature>> Table =
            new Dictionary<string, KeyValuePair<OptimizerKind, Signature>>
            {
                ["sgd"] = new KeyValuePair<OptimizerKind, Signature>(OptimizerKind.Sgd, Sgd),
                ["adam"] = new KeyValuePair<OptimizerKind, Signature>(OptimizerKind.Adam, Adam),
                ["adamw"] = new KeyValuePair<OptimizerKind, Signature>(OptimizerKind.AdamW, AdamW),
            };
    }
}
