using System.Collections.Generic;
using ModelDsl.IR;

namespace ModelDsl.Ops
{
    /// <summary>
    /// The typed attributes of one op, parsed once by its shape rule from the bound arguments (defaults come from the
    /// op's <see cref="Signature"/>, stated once). Later stages read the fields (<c>LayerNormAttributes.Eps</c>), never a
    /// string key. <see cref="Describe"/> lists them as written in <c>.model</c> source, for comments and summaries.
    /// </summary>
    public abstract record OpAttributes
    {
        /// <summary>The attributes as <c>name=value</c> pairs in a fixed order (<c>units=256, bias=true</c>).</summary>
        public abstract IReadOnlyList<KeyValuePair<string, AttributeValue>> Describe();

        protected static KeyValuePair<string, AttributeValue> Pair(string name, long value) => new KeyValuePair<string, AttributeValue>(name, AttributeValue.Of(value));
        protected static KeyValuePair<string, AttributeValue> Pair(string name, double value) => new KeyValuePair<string, AttributeValue>(name, AttributeValue.Of(value));
        protected static KeyValuePair<string, AttributeValue> Pair(string name, bool value) => new KeyValuePair<string, AttributeValue>(name, AttributeValue.Of(value));
        protected static KeyValuePair<string, AttributeValue> Word(string name, string value) => new KeyValuePair<string, AttributeValue>(name, AttributeValue.OfWord(value));
        protected static KeyValuePair<string, AttributeValue> Pair(string name, IReadOnlyList<long> value) => new KeyValuePair<string, AttributeValue>(name, AttributeValue.Of(value));
    }

    /// <summary>An op without attributes (relu, add).</summary>
    public sealed record NoAttributes : OpAttributes
    {
        public static readonly NoAttributes Instance = new NoAttributes();

        private NoAttributes()
        {
        }

        public override IReadOnlyList<KeyValuePair<string, AttributeValue>> Describe() => new KeyValuePair<string, AttributeValue>[0];
    }
}
