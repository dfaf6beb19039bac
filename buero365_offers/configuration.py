# This file is part of Büro 365 Offers.  See the README for licence terms.
from trytond.model import ModelSingleton, ModelSQL, ModelView, fields
from trytond.modules.company.model import (
    CompanyMultiValueMixin,
    CompanyValueMixin,
)
from trytond.pool import Pool
from trytond.pyson import Eval, Id

from .document import sao_richtext

MB = 1024 * 1024


class Configuration(
        ModelSingleton, ModelSQL, ModelView, CompanyMultiValueMixin):
    "Offer Configuration"
    __name__ = 'buero365.offer.configuration'
    __string__ = "Offer Configuration"

    offer_sequence = fields.MultiValue(fields.Many2One(
            'ir.sequence', "Offer Sequence", required=True,
            domain=[
                ('company', 'in',
                    [Eval('context', {}).get('company', -1), None]),
                ('sequence_type', '=',
                    Id('buero365_offers', 'sequence_type_offer')),
                ],
            help="Numbers new offers."))
    validity_days = fields.Integer(
        "Validity (Days)", required=True,
        domain=[('validity_days', '>=', 0)],
        help="How many days a new offer is valid by default.")
    default_terms = fields.Text(
        "Default Terms and Conditions", translate=True,
        help="Copied into each new offer, where it can be edited.")
    # sao's html widget shows only a link to the editor
    default_terms_preview = fields.Function(
        fields.Text("Default Terms and Conditions"),
        'get_default_terms_preview')
    public_url = fields.Char(
        "Public URL",
        help="The address customers use to reach the offer pages, "
        "e.g. https://angebote.example.de (default: the server's host).")
    copy_media = fields.Boolean(
        "Duplicate Media",
        help="A duplicated offer gets the images, videos, attachments and "
        "links of the original.")
    copy_notes = fields.Boolean(
        "Duplicate Notes",
        help="A duplicated offer gets the internal notes of the original "
        "(as notes of the user who duplicates it).")
    image_max_count = fields.Integer(
        "Images per Offer", required=True,
        domain=[('image_max_count', '>=', 0)])
    image_max_size = fields.Integer(
        "Image Size Limit (MB)", required=True,
        domain=[('image_max_size', '>', 0)])
    video_max_count = fields.Integer(
        "Videos per Offer", required=True,
        domain=[('video_max_count', '>=', 0)])
    video_max_size = fields.Integer(
        "Video Size Limit (MB)", required=True,
        domain=[('video_max_size', '>', 0)])
    attachment_max_count = fields.Integer(
        "Attachments per Offer", required=True,
        domain=[('attachment_max_count', '>=', 0)])
    attachment_max_size = fields.Integer(
        "Attachment Size Limit (MB)", required=True,
        domain=[('attachment_max_size', '>', 0)])

    @classmethod
    def multivalue_model(cls, field):
        pool = Pool()
        if field == 'offer_sequence':
            return pool.get('buero365.offer.configuration.sequence')
        return super().multivalue_model(field)

    @classmethod
    def default_offer_sequence(cls, **pattern):
        return cls.multivalue_model(
            'offer_sequence').default_offer_sequence()

    @classmethod
    def default_validity_days(cls):
        return 30

    @classmethod
    def default_copy_media(cls):
        return False

    @classmethod
    def default_copy_notes(cls):
        return False

    @classmethod
    def default_image_max_count(cls):
        return 20

    @classmethod
    def default_image_max_size(cls):
        return 10

    @classmethod
    def default_video_max_count(cls):
        return 20

    @classmethod
    def default_video_max_size(cls):
        return 10

    @classmethod
    def default_attachment_max_count(cls):
        return 20

    @classmethod
    def default_attachment_max_size(cls):
        return 10

    def get_default_terms_preview(self, name):
        return sao_richtext(self.default_terms)

    def media_limits(self, kind):
        "Return (maximum count, maximum size in bytes) for a media kind."
        return (getattr(self, f'{kind}_max_count'),
            getattr(self, f'{kind}_max_size') * MB)


class ConfigurationSequence(ModelSQL, CompanyValueMixin):
    "Offer Configuration Sequence"
    __name__ = 'buero365.offer.configuration.sequence'
    __string__ = "Offer Configuration Sequence"
    offer_sequence = fields.Many2One(
        'ir.sequence', "Offer Sequence", required=True,
        domain=[
            ('company', 'in', [Eval('company', -1), None]),
            ('sequence_type', '=',
                Id('buero365_offers', 'sequence_type_offer')),
            ])

    @classmethod
    def default_offer_sequence(cls):
        pool = Pool()
        ModelData = pool.get('ir.model.data')
        try:
            return ModelData.get_id('buero365_offers', 'sequence_offer')
        except KeyError:
            return None
