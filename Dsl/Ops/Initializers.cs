using System;
using System.Collections.Generic;
using ModelDsl.IR;

namespace ModelDsl.Ops
{
    /// <summary>
    /// The initialisers an <c>init</c> statement can name, with PyTorch's <c>torch.nn.init</c> signatures and
    /// defaults stated once here (docs/language.md, "Initialisers"). <c>mode</c> and <c>nonlinearity</c> are words
    /// (<c>mode="fan_out"</c>); the binder checks them against <see cref="Modes"/> and <see cref="Nonlinearities"/>.
    /// </summary>
    internal static class Initializers
    {
        private static readonly ParamSpec Mode = new ParamSpec("mode", ParamKind.Any, optional: true);
        private static readonly ParamSpec Nonlinearity = new ParamSpec("nonlinearity", ParamKind.Any, optional: true);

        /// <summary>kaiming_*'s <c>mode</c> when not given, and the words it accepts.</summary>
        public const string DefaultMode = "fan_in";
        public static readonly string[] Modes = { "fan_in", "fan_out" };

        /// <summary>kaiming_*'s <c>nonlinearity</c> when not given (PyTorch's default), and the words <see cref="Gain"/> knows.</summary>
        public const string DefaultNonlinearity = "leaky_relu";
        public static readonly string[] Nonlinearities = { "linear", "conv1d", "conv2d", "sigmoid", "tanh", "relu", "leaky_relu", "selu" };

        public static readonly IReadOnlyDictionary<string, KeyValuePair<InitFunction, Signature>> Table =
            new Dictionary<string, KeyValuePair<InitFunction, Signature>>
            {
                ["normal"] = Entry(InitFunction.Normal, Signature.Real("mean", 0.0), Signature.Real("std", 1.0, 0)),
                ["uniform"] = Entry(InitFunction.Uniform, Signature.Real("a", 0.0), Signature.Real("b", 1.0)),
                ["zeros"] = Entry(InitFunction.Constant),
                ["ones"] = Entry(InitFunction.Constant),
                ["constant"] = Entry(InitFunction.Constant, Signature.Real("val")),
                ["xavier_uniform"] = Entry(InitFunction.XavierUniform, Signature.Real("gain", 1.0, 0)),
                ["xavier_normal"] = Entry(InitFunction.XavierNormal, Signature.Real("gain", 1.0, 0)),
                ["kaiming_uniform"] = Entry(InitFunction.KaimingUniform, Signature.Real("a", 0.0, 0), Mode, Nonlinearity),
                ["kaiming_normal"] = Entry(InitFunction.KaimingNormal, Signature.Real("a", 0.0, 0), Mode, Nonlinearity),
            };

        /// <summary>Whether the function draws from the parameter's fans, which exist only for 2 or more dimensions.</summary>
        public static bool NeedsFans(InitFunction f) =>
            f == InitFunction.XavierUniform || f == InitFunction.XavierNormal || f == InitFunction.KaimingUniform || f == InitFunction.KaimingNormal;

        /// <summary>
        /// PyTorch's <c>torch.nn.init.calculate_gain(nonlinearity, param)</c>: 1 for linear, conv and sigmoid, 5/3 for
        /// tanh, sqrt(2) for relu, sqrt(2 / (1 + a²)) for leaky_relu with negative slope <paramref name="a"/>, 3/4 for selu.
        /// </summary>
        public static double Gain(string nonlinearity, double a) => nonlinearity switch
        {
            "tanh" => 5.0 / 3,
            "relu" => Math.Sqrt(2.0),
            "leaky_relu" => Math.Sqrt(2.0 / (1 + a * a)),
            "selu" => 3.0 / 4,
            _ => 1.0,
        };

        /// <summary>PyTorch's <c>_calculate_fan_in_and_fan_out</c>: fan-in <c>shape[1]·∏shape[2:]</c>, fan-out <c>shape[0]·∏shape[2:]</c> (rank ≥ 2).</summary>
        public static (long FanIn, long FanOut) Fans(IReadOnlyList<long> shape)
        {
            long receptive = 1;
            for (int i = 2; i < shape.Count; i++) receptive = checked(receptive * shape[i]);
            return (checked(shape[1] * receptive), checked(shape[0] * receptive));
        }

        private static KeyValuePair<InitFunction, Signature> Entry(InitFunction f, params ParamSpec[] parameters) =>
            new KeyValuePair<InitFunction, Signature>(f, new Signature(parameters));
    }
}
