using System.Collections.Generic;
using ModelDsl.IR;

namespace ModelDsl.Ops
{
    /// <summary>The optimizers with their hyperparameters and defaults (docs/language.md "Optimizers"), each stated once here.</summary>
    internal static class Optimizers
    {
        private static readonly ParamSpec Betas = new ParamSpec("betas", ParamKind.RealTuple, optional: true);

        /// <summary><c>betas</c> when not given (PyTorch's Adam and AdamW).</summary>
        public const double DefaultBeta1 = 0.9, DefaultBeta2 = 0.999;

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

        /// <summary>torch.optim.RMSprop's signature and defaults.</summary>
        public static readonly Signature Rmsprop = new Signature(
            Signature.Real("lr", 1e-2, 0),
            Signature.Real("alpha", 0.99, 0, 1),
            Signature.Real("eps", 1e-8, 0),
            Signature.Real("weight_decay", 0.0, 0),
            Signature.Real("momentum", 0.0, 0),
            Signature.Bool("centered", false));

        public static readonly IReadOnlyDictionary<string, KeyValuePair<OptimizerKind, Signature>> Table =
            new Dictionary<string, KeyValuePair<OptimizerKind, Signature>>
            {
                ["sgd"] = new KeyValuePair<OptimizerKind, Signature>(OptimizerKind.Sgd, Sgd),
                ["adam"] = new KeyValuePair<OptimizerKind, Signature>(OptimizerKind.Adam, Adam),
                ["adamw"] = new KeyValuePair<OptimizerKind, Signature>(OptimizerKind.AdamW, AdamW),
                ["rmsprop"] = new KeyValuePair<OptimizerKind, Signature>(OptimizerKind.Rmsprop, Rmsprop),
            };
    }

    /// <summary>
    /// An optimizer's hyperparameters, typed and resolved once by the binder (defaults from the signatures in
    /// <see cref="Optimizers"/>). Emitters read the fields; <see cref="Describe"/> lists them for comments.
    /// </summary>
    public abstract record OptimizerSettings(double LearningRate, double WeightDecay)
    {
        /// <summary>The hyperparameters as <c>name=value</c> pairs in a fixed order (<c>lr, momentum, weight_decay, nesterov</c>).</summary>
        public abstract IReadOnlyList<KeyValuePair<string, double>> Describe();

        protected static KeyValuePair<string, double> Pair(string name, double value) => new KeyValuePair<string, double>(name, value);
    }

    /// <summary><c>sgd(lr, momentum=0, weight_decay=0, nesterov=false)</c> (torch.optim.SGD).</summary>
    public sealed record SgdSettings(double LearningRate, double Momentum, double WeightDecay, bool Nesterov) : OptimizerSettings(LearningRate, WeightDecay)
    {
        public override IReadOnlyList<KeyValuePair<string, double>> Describe() =>
            new[] { Pair("lr", LearningRate), Pair("momentum", Momentum), Pair("weight_decay", WeightDecay), Pair("nesterov", Nesterov ? 1 : 0) };
    }

    /// <summary><c>adam</c>/<c>adamw(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay)</c>: L2 for adam, decoupled decay for adamw.</summary>
    public sealed record AdamSettings(double LearningRate, double Beta1, double Beta2, double Eps, double WeightDecay) : OptimizerSettings(LearningRate, WeightDecay)
    {
        public override IReadOnlyList<KeyValuePair<string, double>> Describe() =>
            new[] { Pair("lr", LearningRate), Pair("beta1", Beta1), Pair("beta2", Beta2), Pair("eps", Eps), Pair("weight_decay", WeightDecay) };
    }

    /// <summary>
    /// <c>rmsprop(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=false)</c> (torch.optim.RMSprop).
    /// Its state: <c>square_avg</c> always (state 1); <c>momentum_buffer</c> with momentum, or <c>grad_avg</c> when centered (state 2).
    /// </summary>
    public sealed record RmspropSettings(double LearningRate, double Alpha, double Eps, double WeightDecay, double Momentum, bool Centered) : OptimizerSettings(LearningRate, WeightDecay)
    {
        public override IReadOnlyList<KeyValuePair<string, double>> Describe() =>
            new[] { Pair("lr", LearningRate), Pair("alpha", Alpha), Pair("eps", Eps), Pair("weight_decay", WeightDecay), Pair("momentum", Momentum), Pair("centered", Centered ? 1 : 0) };

        /// <summary>The optimizer state buffers per parameter: square_avg, plus momentum_buffer or grad_avg.</summary>
        public int StateCount => Momentum != 0 || Centered ? 2 : 1;
    }
}
