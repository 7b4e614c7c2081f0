namespace ModelDsl.IR
{
    /// <summary>
    /// Every tensor operation the language knows, grouped the way later stages treat them
    /// (tinygrad's op enum): elementwise ops fuse into loops, the rest are kernels of their own.
    /// </summary>
    public enum OpKind
    {
        // Elementwise, one input: fuse into the producer's loop.
        Relu,
        Gelu,
        Sigmoid,
        Tanh,
        Silu,
        LeakyRelu,
        Elu,
        Dropout,

        // Elementwise, two inputs of the same shape.
        Add,
        Mul,

        // Matrix products and layers with parameters.
        Dense,
        Conv2d,
        Embedding,
        PositionalEmbedding,
        Lstm,
        Gru,
        Attention,

        // Normalisations and reductions over the last axis.
        LayerNorm,
        Softmax,

        // Normalisation over the batch, per channel (axis 1): training and inference differ, layer state kept.
        BatchNorm,

        // Pooling.
        MaxPool2d,
        AvgPool2d,
        GlobalMaxPool2d,
        GlobalAvgPool2d,

        // Reductions over one axis (an optional mask weighs its positions).
        ReduceMean,
        ReduceSum,
        ReduceMax,

        // Movement: no arithmetic, only layout.
        Flatten,
        Permute,
        Select,
        Slice,
        Reshape,
        Concat,
    }

    public enum LossKind
    {
        Mse,
        BceWithLogits,
        CrossEntropy,
    }

    public enum OptimizerKind
    {
        Sgd,
        Adam,
        AdamW,
        Rmsprop,
    }

    /// <summary>How a parameter is initialised (the generator emits seeded code for each).</summary>
    public enum InitKind
    {
        /// <summary>He/Kaiming uniform over fan-in: dense and conv weights followed by ReLU-like activations.</summary>
        KaimingUniform,
        /// <summary>Glorot/Xavier uniform: weights followed by tanh/sigmoid or none.</summary>
        XavierUniform,
        /// <summary>N(0, 0.02): embeddings and positional tables (GPT-2 style).</summary>
        Normal002,
        /// <summary>U(-1/sqrt(hidden), 1/sqrt(hidden)): PyTorch's LSTM initialisation.</summary>
        UniformInvSqrtHidden,
        Zeros,
        Ones,
    }
}
