using ModelDsl.Generator.Helpers;

namespace ModelDsl.Generator.Model
{
    /// <summary>An input, label or output: <c>x: f32[B, 784]</c>.</summary>
    public sealed record TensorSpec
    {
        public required string Name { get; init; }

        /// <summary><c>f32</c> or <c>i32</c>, as written in the language.</summary>
        public required string DType { get; init; }

        /// <summary>Each dimension as an expression: <c>B</c>, <c>784</c>, <c>B*T</c>.</summary>
        public required EquatableArray<string> Dims { get; init; }

        /// <summary>One-based line in the <c>.model</c> file.</summary>
        public required int Line { get; init; }
    }
}
