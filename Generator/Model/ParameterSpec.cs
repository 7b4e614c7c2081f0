using ModelDsl.Generator.Helpers;

namespace ModelDsl.Generator.Model
{
    /// <summary>A trainable tensor: <c>logits.0.weight [256, 784]</c>, how it is initialised and where it is defined.</summary>
    public sealed record ParameterSpec
    {
        public required string Name { get; init; }

        public required EquatableArray<long> Shape { get; init; }

        /// <summary>The initialiser's name (<c>KaimingUniform</c>, <c>Zeros</c>).</summary>
        public required string Init { get; init; }

        public required long Count { get; init; }

        public required int Line { get; init; }
    }
}
