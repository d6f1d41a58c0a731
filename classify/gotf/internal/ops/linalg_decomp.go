package ops

import "github.com/classifyd/classifyd/classify"

func (o *laOp) runQr(*Ctx, *classify.Tensor) ([]*classify.Tensor, error) {
	return nil, o.n.Errorf("not implemented")
}

func (o *laOp) runSvd(*Ctx, *classify.Tensor) ([]*classify.Tensor, error) {
	return nil, o.n.Errorf("not implemented")
}

func (o *laOp) runEig(*Ctx, *classify.Tensor) ([]*classify.Tensor, error) {
	return nil, o.n.Errorf("not implemented")
}

func (o *laOp) runLu(*Ctx, *classify.Tensor) ([]*classify.Tensor, error) {
	return nil, o.n.Errorf("not implemented")
}
