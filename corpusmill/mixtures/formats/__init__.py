"""Token shards in the formats other trainers read: Megatron-LM's indexed dataset, nanoGPT's flat
train.bin/val.bin, MosaicML's MDS. Each writer takes documents a batch at a time (tokens back to
back, their lengths, their sources) and writes under temp names renamed into place on close."""
