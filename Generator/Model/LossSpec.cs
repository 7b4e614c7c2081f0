namespace ModelDsl.Generator.Model
{
    /// <summary><c>loss cross_entropy(logits, y)</c>.</summary>
    public sealed record LossSpec
    {
        /// <summary>As written in the language: <c>mse</c>, <c>bce_with_logits</c>, <c>cross_entropy</c>.</summary>
        public required string Kind { get; init; }

        public required string Prediction { get; init; }

        public required string Target { get; init; }

        public required int Line { get; init; }
    }
}
