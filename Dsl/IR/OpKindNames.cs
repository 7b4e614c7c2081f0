namespace ModelDsl.IR
{
    /// <summary>The names ops, losses and optimizers have in <c>.model</c> source (used in summaries, comments and messages).</summary>
    public static class OpKindNames
    {
        public static string ToSource(this OpKind kind)
        {
            switch (kind)
            {
                case OpKind.LayerNorm: return "layer_norm";
                case OpKind.MaxPool2d: return "max_pool2d";
                case OpKind.AvgPool2d: return "avg_pool2d";
                case OpKind.PositionalEmbedding: return "positional";
                default: return kind.ToString().ToLowerInvariant();
            }
        }

        public static string ToSource(this LossKind kind)
        {
            switch (kind)
            {
                case LossKind.Mse: return "mse";
                case LossKind.BceWithLogits: return "bce_with_logits";
                default: return "cross_entropy";
            }
        }

        public static string ToSource(this OptimizerKind kind) => kind.ToString().ToLowerInvariant();
    }
}
