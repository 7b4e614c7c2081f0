using ModelDsl.Generator.Helpers;

namespace ModelDsl.Generator.Model
{
    /// <summary><c>optimizer adamw(lr=1e-3, ...)</c> with every hyperparameter resolved, in the front end's fixed order.</summary>
    public sealed record OptimizerSpec
    {
        /// <summary>As written in the language: <c>sgd</c>, <c>adam</c>, <c>adamw</c>.</summary>
        public required string Kind { get; init; }

        public required EquatableArray<HyperparameterSpec> Hyperparameters { get; init; }

        public required int Line { get; init; }
    }

    /// <summary>One optimizer hyperparameter: <c>lr = 0.001</c>.</summary>
    public sealed record HyperparameterSpec
    {
        public required string Name { get; init; }

        public required double Value { get; init; }
    }
}
